"""What the benches share: the CPU line every timing is printed with, and, for those that start from a
finished series, its SFT model and corpus. Imported by the ``bench_*.py`` scripts (run as scripts,
so ``bench/`` is on the path)."""

from __future__ import annotations

import argparse
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


def cpu_line() -> str:
    """The CPU's name and torch's capability string (AVX2, AVX512, ...), for every timing printed."""
    import torch

    from msrl.training.precision import cpu_name

    return f"{cpu_name()} ({torch.backends.cpu.get_cpu_capability()})"
