"""The vision warm-up trains the vision tower alone; SFT can then keep that tower frozen."""

import torch

from msrl.presets import SMOKE
from msrl.training import sft, vision_warmup
from msrl.training.model import base_checkpoint, load_model_and_processor


def _vision_and_text(model):
    vision = {n: p.detach().clone() for n, p in model.named_parameters() if ".visual." in f".{n}"}
    text = {n: p.detach().clone() for n, p in model.named_parameters() if ".visual." not in f".{n}"}
    return vision, text


def test_the_warm_up_changes_the_vision_tower_only_and_learns_from_corpus_labels(smoke_corpus, tmp_path):
    _, dataset, tokenizer_dir, _ = smoke_corpus
    model, processor = load_model_and_processor(
        base_checkpoint(SMOKE.model, tokenizer_dir, tmp_path / "init"), SMOKE.model, for_training=True
    )
    labels = vision_warmup.targets(dataset["sft"])
    assert labels["chart_type"] == list(dataset["sft"]["chart_type"]) and all(labels["palette"])
    before_vision, before_text = _vision_and_text(model)
    record = vision_warmup.warm_up_vision(model, processor, dataset["sft"], steps=3, lr=1e-3, batch_size=4)
    after_vision, after_text = _vision_and_text(model)
    assert record["steps"] == 3 and set(record["accuracy"]) == set(vision_warmup.TARGETS)
    assert all(0.0 <= a <= 1.0 for a in record["accuracy"].values())
    assert any(not torch.equal(before_vision[n], after_vision[n]) for n in before_vision)
    assert all(torch.equal(before_text[n], after_text[n]) for n in before_text)
    tokens = vision_warmup.image_tokens(model, processor.image_processor, [dataset["sft"][0]["image"]])
    assert tokens[0].shape[-1] == model.config.vision_config.out_hidden_size


def test_sft_starts_from_the_warm_up_and_keeps_a_frozen_vision_tower(smoke_corpus, tmp_path):
    import dataclasses

    _, dataset, tokenizer_dir, _ = smoke_corpus
    preset = dataclasses.replace(
        SMOKE, sft=dataclasses.replace(SMOKE.sft, max_steps=2, vision_warmup_steps=2, freeze_vision=True)
    )
    base = base_checkpoint(preset.model, tokenizer_dir, tmp_path / "init")
    record = sft.train_sft(preset, base, dataset["sft"], tmp_path / "run")
    assert record["warmup"]["steps"] == 2 and record["global_step"] == 2
    assert sft.start_checkpoint(tmp_path / "run") == tmp_path / "run" / "warmup" / "checkpoint"
    assert sft.start_checkpoint(tmp_path / "elsewhere") == tmp_path / "elsewhere" / "init"
    warmed, _ = load_model_and_processor(tmp_path / "run" / "warmup" / "checkpoint", preset.model)
    trained, _ = load_model_and_processor(tmp_path / "run" / "checkpoint", preset.model)
    warmed_vision, warmed_text = _vision_and_text(warmed)
    trained_vision, trained_text = _vision_and_text(trained)
    assert all(torch.equal(warmed_vision[n], trained_vision[n]) for n in warmed_vision)  # frozen in SFT
    assert any(not torch.equal(warmed_text[n], trained_text[n]) for n in warmed_text)
