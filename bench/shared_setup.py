"""What the benches share: the CPU line every timing is printed with, and, for those that start from a
finished series, its SFT model and corpus. Imported by the ``bench_*.py`` scripts (run as scripts,
so ``bench/`` is on the path)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def add_run_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", type=Path, default=Path("outputs/small"))


def sft_model_and_corpus(run_dir: Path):
    """(the small preset, the run's SFT model folder, its corpus); exits with a clear message when
    the series has not produced them."""
    from msrl.data.corpus import DATASET_DIR, load_corpus
    from msrl.paths import CHECKPOINT_DIR, CORPUS_DIR, stage_dir
    from msrl.presets import get_preset

    checkpoint = stage_dir(run_dir, "02") / CHECKPOINT_DIR
    if not (checkpoint / "config.json").exists():
        raise SystemExit(f"no SFT model in {checkpoint}: run the series first (make run)")
    return get_preset("small"), checkpoint, load_corpus(stage_dir(run_dir, "01") / CORPUS_DIR / DATASET_DIR)


def sft_step_time(run_dir: Path, steps: int, preset=None) -> dict:
    """Train ``steps`` SFT steps of ``preset`` (default: the small preset) from the run's warm-up model
    (02's start, as 03's runs start) on its corpus, in a throwaway folder: seconds and minor page
    faults per step, measured in this process."""
    import dataclasses
    import resource
    import tempfile
    import warnings

    from msrl.paths import stage_dir
    from msrl.training.sft import start_checkpoint, train_sft

    warnings.filterwarnings("ignore")
    small, _, corpus = sft_model_and_corpus(run_dir)
    preset = preset or small
    sft = dataclasses.replace(preset.sft, vision_warmup_steps=0, save_steps=10**9)
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_SELF)
        base = start_checkpoint(stage_dir(run_dir, "02"))
        record = train_sft(preset, base, corpus["sft"], tmp, sft=sft, stop_at=steps)
        after = resource.getrusage(resource.RUSAGE_SELF)
    n = max(1, record["global_step"])
    return {"step_s": record["seconds"] / n, "faults": (after.ru_minflt - before.ru_minflt) / n}


def alternating_children(script: str, run_dir: Path, steps: int, rounds: int, settings: dict):
    """Run ``script`` once per setting, ``rounds`` times over, the settings alternating (so that a
    drift of the machine's speed hits all of them); ``settings`` maps a name to (the child's extra
    arguments, its environment). Yields (name, round, the JSON the child printed last)."""
    from msrl.paths import CHECKPOINT_DIR, stage_dir

    if not (stage_dir(run_dir, "02") / CHECKPOINT_DIR / "config.json").exists():
        raise SystemExit(f"no SFT run in {stage_dir(run_dir, '02')}: run the series first (make run)")
    for round_ in range(1, rounds + 1):
        for name, (child_args, env) in settings.items():
            command = [sys.executable, script, *child_args, "--run-dir", str(run_dir), "--steps", str(steps)]
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
            yield name, round_, json.loads(out.strip().splitlines()[-1])


def cpu_line() -> str:
    """The CPU's name and torch's capability string (AVX2, AVX512, ...), for every timing printed."""
    import torch

    from msrl.training.precision import cpu_name

    return f"{cpu_name()} ({torch.backends.cpu.get_cpu_capability()})"
