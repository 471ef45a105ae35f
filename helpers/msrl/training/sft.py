"""Supervised fine-tuning of the vision-language model on chart-code pairs, through TRL's SFTTrainer.

Data are in TRL's conversational prompt-completion format with images: the prompt is the user turn
(the chart image and the instruction), the completion the assistant turn (the code). TRL's
vision collator then computes the loss on completion tokens only. Full fine-tuning or LoRA (PEFT),
resumable checkpoints (``trainer/checkpoint-N``; a killed run continues from the last one),
TensorBoard logs and progress bars come from the Trainer; the final model is saved laid out like a
hub checkpoint (``checkpoint/``) so later stages load it with ``msrl.training.model.load_model_and_processor``.

Vision warm-up (``SFTPreset.vision_warmup_steps``, not in the paper): a model trained from scratch
learns the code long before it learns to look. Before SFT, the vision tower is trained alone to tell the chart type
and palette from the mean of its image tokens (``msrl.training.vision_warmup``); SFT starts from that model.

The token-weighted variant (the plateau study's proposed check) replaces the uniform per-token loss
by a weighted mean: tokens that carry chart content (any token with a digit, and tokens rarer than
the corpus median) get weight ``content_weight``, boilerplate tokens weight 1.

Paper settings (preset ``paper``): Qwen2.5-VL-7B-Instruct, lr 1e-5, global batch 32, one epoch, bf16,
DeepSpeed ZeRO-3 (``helpers/msrl/configs``); the paper trained with LLaMA-Factory, we use TRL.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from msrl.paths import CHECKPOINT_DIR, INIT_DIR, TRAINER_DIR, read_json, write_json
from msrl.presets import Preset, SFTPreset
from msrl.training.distributed import (
    ResumesWithFromPretrained,
    exit_with_launcher,
    finish_process_group,
    main_process_first,
    model_source,
    use_cpu,
)
from msrl.training.precision import choose_bf16, cpu_name
from msrl.training.prompts import split_prompts


def to_sft_dataset(split, instruction: str, ocr_prompt: bool = False):
    """Corpus rows -> {prompt, completion, images} (TRL conversational prompt-completion + images);
    with ``ocr_prompt`` the prompt carries what OCR read in the image (msrl.training.prompts)."""
    prompts = split_prompts(split, instruction, ocr_prompt)  # built outside `map`: see split_prompts

    def convert(row, index):
        return {
            "prompt": prompts[index],
            "completion": [{"role": "assistant", "content": [{"type": "text", "text": row["code"]}]}],
            "images": [row["image"]],
            "length": len(row["code"]),
        }  # for batches of similar length (SFTPreset.group_by_length)

    return split.map(convert, with_indices=True, remove_columns=split.column_names)


def sft_config(preset: SFTPreset, out_dir: Path, seed: int, max_length: int, n_examples: int, bf16: bool = False):
    """TRL's SFTConfig from the preset; ``bf16`` is the resolved precision (``precision.choose_bf16``)."""
    from trl import SFTConfig

    steps_per_epoch = max(1, n_examples // (preset.batch_size * preset.grad_accum))
    return SFTConfig(
        output_dir=str(out_dir),
        per_device_train_batch_size=preset.batch_size,
        gradient_accumulation_steps=preset.grad_accum,
        learning_rate=preset.lr,
        num_train_epochs=preset.epochs,
        max_steps=preset.max_steps,
        lr_scheduler_type=preset.scheduler,
        warmup_steps=preset.warmup_ratio,  # a float < 1 is a share of the steps
        weight_decay=preset.weight_decay,
        logging_steps=min(preset.logging_steps, steps_per_epoch),
        save_steps=preset.save_steps,
        save_total_limit=preset.save_total_limit,
        report_to=["tensorboard"],
        bf16=bf16,
        use_cpu=use_cpu(),  # on CPU: bf16 autocast, and several processes (distributed.py) need it
        gradient_checkpointing=preset.gradient_checkpointing,
        train_sampling_strategy="group_by_length" if preset.group_by_length else "random",
        length_column_name="length",
        max_length=max_length,
        completion_only_loss=True,
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        deepspeed=preset.deepspeed,
        disable_tqdm=False,
    )


def lora_config(preset: SFTPreset):
    from peft import LoraConfig

    return LoraConfig(
        r=preset.lora_r,
        lora_alpha=preset.lora_alpha,
        lora_dropout=preset.lora_dropout,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        task_type="CAUSAL_LM",
    )


def content_token_weights(tokenizer, codes, content_weight: float):
    """Per-vocabulary weights: ``content_weight`` for tokens with a digit or rarer than the median."""
    import torch

    counts = Counter(i for code in codes for i in tokenizer(code)["input_ids"])
    seen = sorted(counts.values())
    median = seen[len(seen) // 2] if seen else 1
    weights = torch.ones(len(tokenizer))
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        if any(ch.isdigit() for ch in text) or counts.get(token_id, 0) < median:
            weights[token_id] = content_weight
    return weights


def _trainer_class():
    import torch
    from trl import SFTTrainer

    class LeanSFTTrainer(ResumesWithFromPretrained, SFTTrainer):
        """SFT loss without TRL's per-step entropy/accuracy metrics (they cost 35 % of a tiny CPU step:
        1.3 vs 0.84 s); with ``token_weights`` a per-token weighted mean of the cross-entropy."""

        token_weights = None

        def _set_signature_columns_if_needed(self):
            super()._set_signature_columns_if_needed()
            if "length" not in self._signature_columns:  # kept for the length-grouped sampler
                self._signature_columns = [*self._signature_columns, "length"]

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.token_weights is None:
                outputs = model(**inputs, use_cache=False)
                return (outputs.loss, outputs) if return_outputs else outputs.loss
            labels = inputs["labels"]
            outputs = model(**{k: v for k, v in inputs.items() if k != "labels"}, use_cache=False)
            logits = outputs.logits[:, :-1].float()
            target = labels[:, 1:]
            mask = target != -100
            loss_each = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), target.clamp(min=0).reshape(-1), reduction="none"
            ).view_as(target)
            weights = self.token_weights.to(logits.device)[target.clamp(min=0)] * mask
            loss = (loss_each * weights).sum() / weights.sum().clamp(min=1.0)
            return (loss, outputs) if return_outputs else loss

    return LeanSFTTrainer


def last_checkpoint(trainer_dir: Path) -> str | None:
    """The newest complete checkpoint. The Trainer writes trainer_state.json last, so a folder whose
    state is missing or does not parse is a save that a kill interrupted and is skipped (the GRPO
    kill-and-resume test caught a missing one; CI caught a kill while the file was being written)."""
    checkpoints = sorted(
        (p for p in Path(trainer_dir).glob("checkpoint-*") if _complete(p / "trainer_state.json")),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    return str(checkpoints[-1]) if checkpoints else None


def _complete(state_file: Path) -> bool:
    try:
        read_json(state_file)
    except (OSError, ValueError):
        return False
    return True


DONE_FILE = "sft_done.json"
WARMUP_DIR = "warmup"
SNAPSHOT_DIR = "snapshots"  # models saved mid-run for the plateau's one-pass protocol: snapshots/step-N


def snapshot_path(out_dir: str | Path, step: int) -> Path:
    return Path(out_dir) / SNAPSHOT_DIR / f"step-{step}"


def _snapshot_callback(out_dir: Path, steps: tuple[int, ...], stop_at: int | None):
    """Save the model and processor when the run reaches each of ``steps`` (rank 0; skipped where a
    resumed run already saved it), and end training at ``stop_at``: the run keeps the learning-rate
    schedule of its full length, so a run stopped early matches the full run's prefix."""
    from transformers import TrainerCallback

    class _Snapshots(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
            step = state.global_step
            target = snapshot_path(out_dir, step)
            if step in steps and state.is_world_process_zero and not (target / "config.json").exists():
                partial = target.with_name(target.name + ".partial")  # renamed when whole: a kill leaves no half model
                model.save_pretrained(str(partial))
                processing_class.save_pretrained(str(partial))
                partial.replace(target)
            if stop_at is not None and step >= stop_at:
                control.should_training_stop = True

    return _Snapshots()


def start_checkpoint(sft_dir: str | Path) -> Path:
    """What stage 02's SFT started from: its warm-up model if it had one, else its initial model
    (the plateau study trains every run from it)."""
    warmed = Path(sft_dir) / WARMUP_DIR / CHECKPOINT_DIR
    return warmed if (warmed / "config.json").exists() else Path(sft_dir) / INIT_DIR


def freeze_vision_tower(model) -> None:
    """Keep the vision tower and merger as they are (LLaMA-Factory's default for Qwen2-VL SFT). On
    our from-scratch model, SFT otherwise turned the image tokens into a large constant vector (an
    attention sink: feature norm 25 -> 65, the image-dependent part unchanged) that said nothing
    about the chart."""
    for name, parameter in model.named_parameters():
        if ".visual." in f".{name}":
            parameter.requires_grad_(False)


def warm_up(preset: Preset, base, train_split, out_dir: Path, sft: SFTPreset) -> tuple[Path, dict]:
    """The vision warm-up before SFT, saved as ``out_dir/checkpoint`` (done once; resumable as a
    whole). Returns (the checkpoint to start SFT from, the warm-up's record)."""

    from msrl.training.model import load_model_and_processor
    from msrl.training.vision_warmup import warm_up_vision

    checkpoint, done = out_dir / CHECKPOINT_DIR, out_dir / DONE_FILE
    if not done.exists():
        model, processor = load_model_and_processor(base, preset.model, for_training=True)
        record = warm_up_vision(
            model,
            processor,
            train_split,
            sft.vision_warmup_steps,
            sft.vision_warmup_lr,
            sft.vision_warmup_batch_size,
            seed=preset.seed,
            weight_decay=sft.vision_warmup_weight_decay,
            rise=sft.vision_warmup_rise,
        )
        model.save_pretrained(str(checkpoint))
        processor.save_pretrained(str(checkpoint))
        write_json(done, {k: v for k, v in record.items() if k != "log"})
    return checkpoint, read_json(done)


def train_sft(
    preset: Preset,
    base: str | Path,
    train_split,
    out_dir: str | Path,
    token_weights=None,
    sft: SFTPreset | None = None,
    callbacks=None,
    snapshot_steps: tuple[int, ...] = (),
    stop_at: int | None = None,
) -> dict:
    """Train from ``base`` (a checkpoint folder or hub id) on corpus rows; resume if interrupted.
    ``snapshot_steps``: also save the model at these steps (``snapshot_path``); ``stop_at``: end
    there, on the schedule of the full run.

    Returns {"log_history", "global_step", "resumed_from", "seconds"}; the model and processor are
    saved in ``out_dir/checkpoint``. A finished run (``sft_done.json``, e.g. from a multi-GPU
    ``accelerate launch -m msrl.training.sft``) is not trained again: its record is returned.
    """
    import time

    from msrl.training.model import load_model_and_processor

    sft = sft or preset.sft
    out_dir = Path(out_dir)
    if (out_dir / DONE_FILE).exists() and (out_dir / CHECKPOINT_DIR / "config.json").exists():
        return read_json(out_dir / DONE_FILE)
    warmup = None
    if sft.vision_warmup_steps > 0:  # first teach the vision tower to see charts (msrl.training.vision_warmup)
        with main_process_first():  # done once, by the main process; the other ranks load it
            base, warmup = warm_up(preset, base, train_split, out_dir / WARMUP_DIR, sft)
    trainer_dir = out_dir / TRAINER_DIR
    exit_with_launcher()
    resume = last_checkpoint(trainer_dir)
    source = model_source(base, resume, sft.use_lora)
    model, processor = load_model_and_processor(source, preset.model, for_training=True)
    if sft.freeze_vision:
        freeze_vision_tower(model)
    dataset = to_sft_dataset(train_split, preset.instruction, preset.model.ocr_prompt)
    precision = choose_bf16(sft.bf16)
    config = sft_config(
        sft, trainer_dir, preset.seed, preset.model.max_position_embeddings, len(dataset), bf16=precision["bf16"]
    )
    trainer = _trainer_class()(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=lora_config(sft) if sft.use_lora else None,
        callbacks=[*(callbacks or []), _snapshot_callback(out_dir, tuple(snapshot_steps), stop_at)],
    )
    if token_weights is not None:
        trainer.token_weights = token_weights
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - start
    final = trainer.model
    if sft.use_lora:
        final = final.merge_and_unload()  # later stages load a plain checkpoint
    record = {
        "log_history": trainer.state.log_history,
        "global_step": trainer.state.global_step,
        "resumed_from": resume,
        "seconds": seconds,
        "precision": precision,
        "cpu": cpu_name(),
    }
    if warmup is not None:
        record["warmup"] = warmup
    if trainer.accelerator.is_main_process:
        final.save_pretrained(str(out_dir / CHECKPOINT_DIR))
        processor.save_pretrained(str(out_dir / CHECKPOINT_DIR))
        write_json(out_dir / DONE_FILE, record)  # atomic: a kill never leaves half a record
    return record


def main(argv=None) -> int:
    """Train stage 02 outside a notebook (multi-GPU):
    accelerate launch --config_file helpers/msrl/configs/accelerate_zero3.yaml -m msrl.training.sft --scale paper
    then run the 02 notebook, which finds the finished model and evaluates it."""
    import argparse

    from msrl.data.corpus import DATASET_DIR, load_corpus
    from msrl.paths import CORPUS_DIR, OUTPUTS_DIR, TOKENIZER_DIR, stage_dir
    from msrl.presets import add_override_argument, get_preset
    from msrl.training.model import base_checkpoint

    parser = argparse.ArgumentParser(prog="python -m msrl.training.sft", description=main.__doc__.splitlines()[0])
    parser.add_argument("--scale", default="paper")
    parser.add_argument("--run-dir", type=Path)
    add_override_argument(parser)
    args = parser.parse_args(argv)
    preset = get_preset(args.scale, dict(args.overrides))
    run_dir = args.run_dir or OUTPUTS_DIR / args.scale
    data = stage_dir(run_dir, "01")
    corpus = load_corpus(data / CORPUS_DIR / DATASET_DIR)
    out = stage_dir(run_dir, "02")
    with main_process_first():
        base = base_checkpoint(preset.model, data / TOKENIZER_DIR, out / INIT_DIR, preset.seed)
    train_sft(preset, base, corpus["sft"], out)
    finish_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
