"""Batched generation of chart code from chart images (evaluation and galleries).

Greedy decoding (ChartMimic evaluates with temperature 0), left padding, the preset's instruction
and a cap on new tokens. Images are resized by the processor to the preset's pixel range.
Departure: the paper served the 7B model with vLLM for inference; here the same function runs the
model in-process (vLLM belongs to the GPU environment).
"""

from __future__ import annotations

from .sft import prompt_messages


def generate_code(model, processor, images, instruction: str, max_new_tokens: int,
                  batch_size: int = 8, progress=None) -> list[str]:
    import torch

    prompt = processor.apply_chat_template(prompt_messages(instruction), add_generation_prompt=True,
                                           tokenize=False)
    processor.tokenizer.padding_side = "left"
    was_training = model.training
    model.eval()
    outputs: list[str] = []
    try:
        for start in range(0, len(images), batch_size):
            batch = [image.convert("RGB") for image in images[start:start + batch_size]]
            inputs = processor(text=[prompt] * len(batch), images=batch, return_tensors="pt", padding=True)
            inputs = inputs.to(model.device)
            with torch.no_grad():
                generated = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                           pad_token_id=processor.tokenizer.pad_token_id)
            new_tokens = generated[:, inputs["input_ids"].shape[1]:]
            outputs.extend(processor.batch_decode(new_tokens, skip_special_tokens=True))
            if progress:
                progress(len(outputs), len(images))
    finally:
        model.train(was_training)
    return outputs
