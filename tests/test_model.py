"""Tokenizer, tiny Qwen2.5-VL, processor and the Auto* loader."""

import io

import pytest
import torch
from conftest import SAMPLE_CODE
from PIL import Image

from msrl.data.tokenizer import train_code_tokenizer
from msrl.presets import SMOKE
from msrl.training import tvshim
from msrl.training.model import load_model_and_processor, mrope_section


def test_tokenizer_round_trips_code_and_splits_digits():
    tokenizer = train_code_tokenizer(SAMPLE_CODE * 10, vocab_size=600)
    code = SAMPLE_CODE[0] + "\nx = [1234.5, -0.07]  # unseen: é ü 名\n"
    ids = tokenizer(code)["input_ids"]
    assert tokenizer.decode(ids) == code
    digits = [tokenizer.decode([i]) for i in tokenizer("1234")["input_ids"]]
    assert digits == ["1", "2", "3", "4"]
    for special in ("<|im_start|>", "<|im_end|>", "<|image_pad|>", "<|vision_start|>"):
        assert len(tokenizer(special)["input_ids"]) == 1


@pytest.mark.parametrize("head_dim", [16, 32, 64, 128])
def test_mrope_section_sums_to_half_the_head_dim(head_dim):
    assert sum(mrope_section(head_dim)) == head_dim // 2
    if head_dim == 128:
        assert mrope_section(head_dim) == [16, 24, 24]  # Qwen2.5-VL's own value


def test_checkpoint_is_laid_out_like_a_hub_checkpoint(tiny_checkpoint):
    names = {p.name for p in tiny_checkpoint.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "processor_config.json",
        "chat_template.jinja",
    } <= names


def test_tiny_model_reloads_through_auto_classes_and_generates_on_a_chart(tiny_checkpoint, chart_png):
    from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor

    model, processor = load_model_and_processor(tiny_checkpoint, SMOKE.model, device="cpu")
    assert isinstance(model, Qwen2_5_VLForConditionalGeneration)
    assert isinstance(processor, Qwen2_5_VLProcessor)
    assert processor.tokenizer.padding_side == "left"
    image = Image.open(io.BytesIO(chart_png)).convert("RGB")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Code?"}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|im_start|>assistant\n") and "<|image_pad|>" in prompt
    inputs = processor(
        text=[prompt, prompt], images=[image, image.resize((120, 90))], return_tensors="pt", padding=True
    )
    n_image_tokens = (inputs["input_ids"] == model.config.image_token_id).sum().item()
    assert n_image_tokens > 0
    with torch.no_grad():
        logits = model(**inputs).logits
        out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    assert logits.shape[:2] == inputs["input_ids"].shape
    assert torch.isfinite(logits).all()
    assert out.shape[0] == 2 and out.shape[1] > inputs["input_ids"].shape[1]

    # the reloaded weights are the saved ones: same logits after a second load
    again, _ = load_model_and_processor(tiny_checkpoint, SMOKE.model, device="cpu")
    with torch.no_grad():
        assert torch.allclose(again(**inputs).logits, logits)


def test_torchvision_shim_is_active_only_without_a_usable_torchvision():
    patched = tvshim.apply()
    assert patched == (not tvshim.torchvision_usable())
    if patched:
        from transformers import Qwen2_5_VLProcessor

        assert "video_processor" not in Qwen2_5_VLProcessor.get_attributes()
        assert "image_processor" in Qwen2_5_VLProcessor.get_attributes()
