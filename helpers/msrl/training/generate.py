"""Batched generation of chart code from chart images (evaluation and galleries).

Greedy decoding (ChartMimic evaluates with temperature 0), left padding, the preset's instruction
and a cap on new tokens. Images are resized by the processor to the preset's pixel range.
Prompts are batched in order of their length (images of one aspect ratio give prompts of one
length, so a batch carries little padding) and the outputs are returned in the input order.

A stop rule (``stop_repeats`` > 0) ends a sequence early when it is stuck in a loop: its last
tokens repeat a period of ``p`` tokens (``p`` up to ``max_period``) at least ``stop_repeats`` times
and over at least ``MIN_LOOP`` tokens. An undertrained model otherwise runs to the token cap, and the
cap sets the evaluation time. The rule must not cut programs that would have finished, and on our
small SFT model it does: that model repeats a data row 8 to 20 times and then finishes a program that
runs. Rules at 3 and at 8 repeats left 60 and 49 of its 64 programs unfinished (1.6 % and 10.9 %
executed). The presets therefore leave it off (``eval.stop_repeats = 0``). ``GenerationStats``
counts how often it fired.

A repetition penalty (``repetition_penalty`` > 1, CTRL's rule as in transformers: the logit of every
token already in the sequence is divided by it, or multiplied where negative) keeps decoding greedy
and deterministic. Qwen2.5-VL-7B-Instruct ships with 1.05 in its generation config, which the paper
preset uses. The small preset uses 1.2, chosen on 64 items of the ``rl`` split (not ``eval``); there
it took the small SFT model from 14 % to 77 % executed programs (1.1: 66 %, 1.3: 77 %, 1.5: 31 %).
It works because the failure is a data row repeated until the token cap.

With ``penalty_spares_quotes`` the penalty leaves alone every token that holds a quote character.
The plain penalty applies to every token the sequence has used, and a program uses ``'`` dozens of
times: the small SFT model then opened a title with ``'`` and closed it with ``"`` (an unterminated
string). On the small SFT model (seed 0) and 300 ``rl``-split items (not ``eval``), sparing quotes
took execution from 78.3 to 80.7 % and low-level from 48.4 to 50.0, and SyntaxErrors from 46 to 33;
sparing brackets too fell to 74 % (rows 200-299), and penalising only tokens with a letter or digit
lost the penalty's effect (47 %: the loops are rows of punctuation and digits). On ``eval``, over
eight models, the change is inside the noise: execution +0.6 [-0.9, +2.1] (README, Evaluation).
Departure: the paper served the 7B model with vLLM for inference; here the same function runs the
model in-process (vLLM belongs to the GPU environment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from msrl.training.prompts import prompt_messages


@dataclass
class GenerationStats:
    sequences: int = 0
    new_tokens: int = 0
    seconds: float = 0.0
    per_sequence_stopped: list[bool] = field(default_factory=list)  # by the repetition rule, in input order

    @property
    def stopped_looping(self) -> int:
        """Sequences ended by the repetition rule."""
        return sum(self.per_sequence_stopped)


MIN_LOOP = 96  # tokens a repetition must cover before it counts as a loop (rows are ~17 tokens)


def looping(ids, max_period: int = 48, repeats: int = 8):
    """Bool per row: the last ``max(repeats * p, MIN_LOOP)`` tokens of ``ids`` are ``p``-periodic
    for some period p <= ``max_period``."""
    import torch

    done = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
    for period in range(1, max_period + 1):
        span = max(repeats * period, MIN_LOOP)
        if ids.shape[1] < span:
            break
        tail = ids[:, -span:]
        done |= (tail[:, period:] == tail[:, :-period]).all(dim=1)
    return done


def _stop_rule(prompt_length: int, max_period: int, repeats: int):
    from transformers import StoppingCriteria

    class StopWhenLooping(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return looping(input_ids[:, prompt_length:], max_period, repeats)

    return StopWhenLooping()


QUOTES = "'\""


def quote_token_ids(tokenizer) -> list[int]:
    """The ids of every vocabulary token whose text holds a quote character."""
    return [i for i in range(len(tokenizer)) if any(q in tokenizer.decode([i]) for q in QUOTES)]


def sparing_repetition_penalty(penalty: float, spared_ids: list[int]):
    """transformers' repetition penalty (CTRL's rule, over the whole sequence, prompt included) on
    every token but ``spared_ids``."""
    import torch
    from transformers import LogitsProcessor

    class RepetitionPenaltySparing(LogitsProcessor):
        spared = None  # vocabulary mask, built at the first decoding step (the logits give its size)

        def __call__(self, input_ids, scores):
            if self.spared is None:
                self.spared = torch.zeros(scores.shape[-1], dtype=torch.bool, device=scores.device)
                self.spared[spared_ids] = True
            seen = torch.gather(scores, 1, input_ids)
            penalised = torch.where(seen < 0, seen * penalty, seen / penalty)
            return scores.scatter(1, input_ids, torch.where(self.spared[input_ids], seen, penalised))

    return RepetitionPenaltySparing()


def generate_code(
    model,
    processor,
    images,
    instruction: str,
    max_new_tokens: int,
    batch_size: int = 8,
    progress=None,
    stop_repeats: int = 0,
    max_period: int = 48,
    stats: GenerationStats | None = None,
    repetition_penalty: float = 1.0,
    chart_texts: list[str] | None = None,
    penalty_spares_quotes: bool = False,
) -> list[str]:
    """One program per image, in input order. ``chart_texts`` (what OCR read in each image) go into
    the prompts when given (``ModelPreset.ocr_prompt``, msrl.training.prompts)."""
    import time

    import torch
    from transformers import LogitsProcessorList, StoppingCriteriaList

    penalty = {"repetition_penalty": repetition_penalty}
    if penalty_spares_quotes and repetition_penalty != 1.0:
        spared = quote_token_ids(processor.tokenizer)
        # 1.0 also overrides a penalty in the model's generation config (Qwen's 1.05), which would apply on top
        processor_list = LogitsProcessorList([sparing_repetition_penalty(repetition_penalty, spared)])
        penalty = {"repetition_penalty": 1.0, "logits_processor": processor_list}

    texts = chart_texts if chart_texts is not None else [None] * len(images)
    prompts = [
        processor.apply_chat_template(prompt_messages(instruction, text), add_generation_prompt=True, tokenize=False)
        for text in texts
    ]
    processor.tokenizer.padding_side = "left"
    was_training = model.training
    model.eval()
    images = [image.convert("RGB") for image in images]
    # Same-size images and texts of one length give prompts of one length: batch them together (less
    # padding), keep the order.
    order = sorted(range(len(images)), key=lambda i: (images[i].size, len(prompts[i]), i))
    outputs: dict[int, str] = {}
    stats = stats if stats is not None else GenerationStats()
    eos = model.generation_config.eos_token_id
    ends = {processor.tokenizer.pad_token_id, *(eos if isinstance(eos, (list, tuple)) else [eos])}
    stopped: dict[int, bool] = {}
    start = time.perf_counter()
    try:
        for first in range(0, len(order), batch_size):
            chosen = order[first : first + batch_size]
            inputs = processor(
                text=[prompts[i] for i in chosen], images=[images[i] for i in chosen], return_tensors="pt", padding=True
            ).to(model.device)
            prompt_length = inputs["input_ids"].shape[1]
            criteria = StoppingCriteriaList(
                [_stop_rule(prompt_length, max_period, stop_repeats)] if stop_repeats else []
            )
            with torch.no_grad():
                generated = model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    **penalty,
                    pad_token_id=processor.tokenizer.pad_token_id,
                    stopping_criteria=criteria,
                )
            new_tokens = generated[:, prompt_length:]
            for index, text, row in zip(
                chosen, processor.batch_decode(new_tokens, skip_special_tokens=True), new_tokens
            ):
                outputs[index] = text
                kept = row[[t not in ends for t in row.tolist()]]  # a finished row is padded, not looping
                stopped[index] = bool(stop_repeats) and bool(looping(kept[None], max_period, stop_repeats)[0])
                stats.new_tokens += len(kept)
            if progress:
                progress(len(outputs), len(images))
    finally:
        model.train(was_training)
    stats.sequences += len(images)
    stats.per_sequence_stopped += [stopped[i] for i in range(len(images))]
    stats.seconds += time.perf_counter() - start
    return [outputs[i] for i in range(len(images))]
