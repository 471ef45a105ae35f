"""A byte-level BPE tokenizer trained on our own plotting-code corpus, shaped like Qwen2.5-VL's.

Nothing can be downloaded here, so the tiny default model gets a tokenizer trained locally in
about a second. It uses exactly Qwen2's pre-tokenizer (the same split regex, which puts every digit
in its own token, then byte-level BPE), Qwen2.5-VL's special tokens and a ChatML chat template, and
it is saved as a ``Qwen2Tokenizer``: ``AutoTokenizer`` loads it like the real one. Departures from
the real tokenizer: a vocabulary of a few thousand instead of 151k, and no default system prompt in
the chat template (it would cost the tiny model context for no information).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

# Qwen2.5-VL's special tokens, in its order; ids follow from training (they are 0..7 here).
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# ChatML as Qwen2.5-VL writes it, images as <|vision_start|><|image_pad|><|vision_end|>.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_code_tokenizer(texts: Iterable[str], vocab_size: int = 4096):
    """Train a Qwen2-style BPE on ``texts`` and return it as a ``transformers.Qwen2Tokenizer``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX, Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        # every byte is in the vocabulary, so any text (any model output) can be encoded
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    state = json.loads(bpe.to_str())["model"]
    tokenizer = Qwen2Tokenizer(
        vocab=state["vocab"],
        merges=[tuple(m) for m in state["merges"]],
        eos_token="<|im_end|>",  # generation stops at the end of the assistant turn
        pad_token="<|endoftext|>",
        additional_special_tokens=list(SPECIAL_TOKENS[1:]),
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer
