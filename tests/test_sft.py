"""SFT: a killed run resumes from its checkpoint; the paper configuration loads; token weights."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from msrl.paths import REPO_ROOT
from msrl.presets import get_preset
from msrl.training import sft

CONFIGS = REPO_ROOT / "helpers" / "msrl" / "configs"

TRAIN = """
import dataclasses, sys
from msrl.data.corpus import load_corpus
from msrl.training.model import base_checkpoint
from msrl.paths import REPO_ROOT
from msrl.presets import get_preset
from msrl.training.sft import train_sft
preset = get_preset("smoke")
preset = dataclasses.replace(preset, sft=dataclasses.replace(preset.sft, max_steps=int(sys.argv[3]), save_steps=2))
corpus = load_corpus(sys.argv[1])
base = base_checkpoint(preset.model, sys.argv[2], sys.argv[4] + "/init")
train_sft(preset, base, corpus["sft"], sys.argv[4])
"""


def test_a_killed_sft_run_resumes_from_its_last_checkpoint(smoke_corpus, tmp_path):
    out, _, tokenizer_dir, _ = smoke_corpus
    dataset_dir = str(out / "corpus" / "dataset")
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-c", TRAIN, dataset_dir, str(tokenizer_dir), "8", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and not sft.last_checkpoint(run_dir / "trainer"):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = sft.last_checkpoint(run_dir / "trainer")
    assert killed_at, "no checkpoint was written before the kill"
    assert not (run_dir / sft.DONE_FILE).exists()

    from msrl.data.corpus import load_corpus
    from msrl.training.model import base_checkpoint

    preset = get_preset("smoke")
    preset = dataclasses.replace(preset, sft=dataclasses.replace(preset.sft, max_steps=8, save_steps=2))
    base = base_checkpoint(preset.model, tokenizer_dir, run_dir / "init")
    record = sft.train_sft(preset, base, load_corpus(dataset_dir)["sft"], run_dir)
    assert record["resumed_from"] == killed_at
    assert record["global_step"] == 8
    assert (run_dir / "checkpoint" / "model.safetensors").exists()
    # a finished run is not trained again
    again = sft.train_sft(preset, base, load_corpus(dataset_dir)["sft"], run_dir)
    assert again["global_step"] == 8 and again["seconds"] == record["seconds"]


def test_paper_preset_sft_configuration_loads():
    paper = get_preset("paper")
    ds = json.loads((REPO_ROOT / paper.sft.deepspeed).read_text())
    assert ds["zero_optimization"]["stage"] == 3 and ds["bf16"]["enabled"] == "auto"
    launch = yaml.safe_load((CONFIGS / "accelerate_zero3.yaml").read_text())
    assert launch["distributed_type"] == "DEEPSPEED" and launch["num_processes"] == 8
    # global batch 32 = per-device batch x processes x accumulation, as in the paper
    assert paper.sft.batch_size * launch["num_processes"] * paper.sft.grad_accum == 32
    # DeepSpeed itself is only in the GPU environment; every other field builds a valid SFTConfig
    config = sft.sft_config(
        dataclasses.replace(paper.sft, deepspeed=None, bf16=False), Path("/tmp/x"), paper.seed, 4096, 2_800_000
    )
    assert config.learning_rate == 1e-5 and config.num_train_epochs == 1
    assert config.per_device_train_batch_size == 4 and config.completion_only_loss


def test_content_token_weights_favour_digits_and_rare_tokens(smoke_corpus):
    from transformers import AutoTokenizer

    _, dataset, tokenizer_dir, _ = smoke_corpus
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    weights = sft.content_token_weights(tokenizer, dataset["sft"]["code"], 3.0)
    assert weights[tokenizer.convert_tokens_to_ids("7")] == 3.0
    plt_id = tokenizer("plt")["input_ids"][0]
    assert weights[plt_id] == 1.0
    assert 1.0 < float(weights.mean()) < 3.0


def test_an_interrupted_checkpoint_save_is_skipped_on_resume(tmp_path):
    # 12: killed before its state was written; 14: killed while writing it
    for step, state in ((2, "{}"), (10, "{}"), (12, None), (14, '{"global_step": 1')):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if state is not None:
            (folder / "trainer_state.json").write_text(state)
    assert sft.last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    assert sft.last_checkpoint(tmp_path / "missing") is None


def test_a_run_stopped_early_keeps_the_full_runs_schedule_and_snapshots(smoke_corpus, tmp_path):
    """The plateau's one-pass protocol: a run stopped at step 4 of 6 saves the same step-2 and step-4
    models as the full run (same schedule, same data order), and ends at step 4."""
    import torch
    from safetensors.torch import load_file

    from msrl.data.corpus import load_corpus
    from msrl.training.model import base_checkpoint

    out, _, tokenizer_dir, _ = smoke_corpus
    preset = get_preset("smoke")
    preset = dataclasses.replace(preset, sft=dataclasses.replace(preset.sft, vision_warmup_steps=0, save_steps=100))
    split = load_corpus(out / "corpus" / "dataset")["sft"]
    base = base_checkpoint(preset.model, tokenizer_dir, tmp_path / "init")
    full = sft.train_sft(preset, base, split, tmp_path / "full", snapshot_steps=(2, 4))
    stopped = sft.train_sft(preset, base, split, tmp_path / "stopped", snapshot_steps=(2, 4), stop_at=4)
    assert full["global_step"] == preset.sft.max_steps == 6 and stopped["global_step"] == 4
    for step in (2, 4):
        ours, theirs = (
            load_file(sft.snapshot_path(tmp_path / run, step) / "model.safetensors") for run in ("stopped", "full")
        )
        assert ours.keys() == theirs.keys()
        assert all(torch.allclose(ours[k].float(), theirs[k].float(), atol=1e-6) for k in ours), step
    assert not list((tmp_path / "full" / sft.SNAPSHOT_DIR).glob("*.partial"))
    first, last = (load_file(sft.snapshot_path(tmp_path / "full", s) / "model.safetensors") for s in (2, 4))
    assert any(not torch.equal(first[k], last[k]) for k in first)  # the snapshots are of different steps
