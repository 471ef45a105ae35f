"""Build, save and load the vision-language model and its processor.

One loader serves every scale: ``load_model_and_processor(path_or_hub_id)`` takes the tiny model we
build here (saved laid out like a hub checkpoint) or a real one such as
``Qwen/Qwen2.5-VL-7B-Instruct``, through the same ``Auto*`` classes.

The tiny default is a ``Qwen2_5_VLForConditionalGeneration`` built from a config (a few million
parameters instead of 7B) with the tokenizer from :mod:`msrl.data.tokenizer`; it is trained from scratch
on our chart corpus. Departures from the real model are sizes only; ``mrope_section`` is scaled to
the small head dimension (it must sum to head_dim / 2; Qwen's [16, 24, 24] is for head_dim 128).
"""

from __future__ import annotations

from pathlib import Path

from msrl.data.tokenizer import train_code_tokenizer
from msrl.presets import ModelPreset
from msrl.training import tvshim


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def mrope_section(head_dim: int) -> list[int]:
    """Qwen2.5-VL's temporal/height/width rotary split (1/4, 3/8, 3/8 of head_dim / 2)."""
    half = head_dim // 2
    temporal = half // 4
    height = (half - temporal) // 2
    return [temporal, height, half - temporal - height]


def image_size(preset: ModelPreset) -> dict:
    """The image processor's pixel-area range (Qwen2-VL resizes keeping the aspect ratio)."""
    return {"shortest_edge": preset.min_pixels, "longest_edge": preset.max_pixels}


def build_processor(tokenizer, preset: ModelPreset):
    """A real ``Qwen2_5_VLProcessor`` around our tokenizer, with the preset's image-size range."""
    tvshim.apply()
    from transformers import Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    image_processor = Qwen2VLImageProcessorPil(
        size=image_size(preset),
        patch_size=14,
        merge_size=2,
        temporal_patch_size=2,
    )
    return Qwen2_5_VLProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=tokenizer.chat_template
    )


def build_tiny_model(tokenizer, preset: ModelPreset, seed: int = 0):
    """A randomly initialised Qwen2.5-VL with the preset's sizes and the tokenizer's special ids."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = {
        t: tokenizer.convert_tokens_to_ids(t)
        for t in ("<|im_end|>", "<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")
    }
    head_dim = preset.hidden_size // preset.num_heads
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=preset.hidden_size,
        intermediate_size=preset.intermediate_size,
        num_hidden_layers=preset.num_layers,
        num_attention_heads=preset.num_heads,
        num_key_value_heads=preset.num_kv_heads,
        max_position_embeddings=preset.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope_section(head_dim)},
        bos_token_id=None,
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,  # saves a vocab x hidden matrix; Qwen2.5-VL-3B ties too
    )
    vision = dict(
        depth=preset.vision_depth,
        hidden_size=preset.vision_hidden,
        intermediate_size=2 * preset.vision_hidden,
        num_heads=preset.vision_heads,
        out_hidden_size=preset.hidden_size,
        fullatt_block_indexes=[preset.vision_depth - 1],  # last block attends globally
        window_size=112,
    )
    config = Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def create_tiny_checkpoint(
    out_dir: str | Path, code_texts=None, preset: ModelPreset | None = None, seed: int = 0, tokenizer=None
) -> Path:
    """Build processor and tiny model around ``tokenizer`` (or one trained on ``code_texts``), and
    save them to ``out_dir``.

    The folder is laid out like a hub checkpoint (config.json, model.safetensors, tokenizer.json,
    processor_config.json, chat_template.jinja), so ``load_model_and_processor`` reads it as it
    reads ``Qwen/Qwen2.5-VL-7B-Instruct``.
    """
    out_dir = Path(out_dir)
    if tokenizer is None:
        tokenizer = train_code_tokenizer(code_texts, vocab_size=preset.vocab_size)
    elif isinstance(tokenizer, (str, Path)):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer))
    processor = build_processor(tokenizer, preset)
    model = build_tiny_model(tokenizer, preset, seed=seed)
    processor.save_pretrained(out_dir)
    model.save_pretrained(out_dir)
    return out_dir


def load_model_and_processor(
    path_or_id: str | Path, preset: ModelPreset | None = None, device: str | None = None, for_training: bool = False
):
    """Load any Qwen2.5-VL checkpoint (our tiny one, a local path or a hub id) and its processor.

    The tokenizer pads on the LEFT: decoder-only generation needs it, and TRL's GRPO re-tokenizes
    prompts with the processor's padding side (right padding breaks ``get_rope_index``).
    """
    tvshim.apply()
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor_kwargs = {}
    dtype = torch.float32
    if preset is not None:
        processor_kwargs = {"size": image_size(preset)}
        dtype = getattr(torch, preset.dtype)
    processor = AutoProcessor.from_pretrained(str(path_or_id), **processor_kwargs)
    processor.tokenizer.padding_side = "left"
    model = AutoModelForImageTextToText.from_pretrained(str(path_or_id), dtype=dtype)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    model.train(for_training)
    return model, processor


def base_checkpoint(preset: ModelPreset, tokenizer_dir: str | Path, out_dir: str | Path, seed: int = 0) -> str:
    """The model a stage starts from: the preset's checkpoint/hub id, or (``tiny``) a fresh tiny
    model around the corpus tokenizer, created once in ``out_dir``."""
    if preset.base != "tiny":
        return preset.base
    out_dir = Path(out_dir)
    if not (out_dir / "config.json").exists():
        create_tiny_checkpoint(out_dir, preset=preset, tokenizer=tokenizer_dir, seed=seed)
    return str(out_dir)


def parameter_count(model) -> int:
    """Parameters of a loaded model, or of a saved checkpoint folder (read from its safetensors)."""
    if isinstance(model, (str, Path)):
        import math

        from safetensors import safe_open

        total = 0
        for path in Path(model).glob("*.safetensors"):
            with safe_open(str(path), framework="pt") as handle:
                total += sum(math.prod(handle.get_slice(k).get_shape()) for k in handle.keys())
        return total
    return sum(p.numel() for p in model.parameters())
