"""Where things live: the notebook stages, the run folder layout and the metrics files.

Every folder and file name that stages use to hand work to each other is defined here, once.
A run folder looks like::

    outputs/<run>/
        manifest.json          scale, seed, package versions, git commit, per-stage status
        executed/NN_name.ipynb the notebooks as papermill executed them
        NN_name/               one folder per stage: checkpoints, metrics.json, figures
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
OUTPUTS_DIR = REPO_ROOT / "outputs"  # run state: checkpoints, corpora, executed notebooks (git-ignored)
RESULTS_DIR = REPO_ROOT / "results"  # what `make report` keeps in git from a finished run
# The external benchmark is read in place from ../shared (never copied into the repository).
CHARTMIMIC_DIR = Path(
    os.environ.get("MSRL_CHARTMIMIC_DIR", REPO_ROOT.parent / "shared" / "benchmarks" / "chartmimic_direct_v1")
)
MISSING_CHARTMIMIC = "ChartMimic not scored, no benchmark folder at"  # said by stages and the report

# Stage order of the notebook series; a stage's folder has the same name as its notebook.
STAGES = (
    "01_data",
    "02_sft",
    "03_plateau",
    "04_rl_stage1",
    "05_rl_stage2",
    "06_ablations",
    "07_eval",
)

MANIFEST = "manifest.json"
RUNNER_LOCK = ".runner.lock"  # held (flock) by the one runner writing a run folder
RUNNER_PID_ENV = "MSRL_RUNNER_PID"  # set for the kernels a runner starts: they exit when it dies
METRICS = "metrics.json"
EXECUTED_DIR = "executed"
FIGURES_DIR = "figures"
EVALUATIONS_DIR = "evaluations"  # 02, 04-07: the programs each model generated, re-scored by later stages
CORPUS_DIR = "corpus"  # 01_data: the DatasetDict on disk
TOKENIZER_DIR = "tokenizer"  # 01_data: the code tokenizer trained on the corpus
INIT_DIR = "init"  # 02: the model SFT starts from (tiny: freshly built), and 07's "base (untrained)"
CHECKPOINT_DIR = "checkpoint"  # 02/04/05: the final model, laid out like a hub checkpoint
TRAINER_DIR = "trainer"  # 02/04/05: the trainer's resumable checkpoints and logs
REPORT = "REPORT.md"
CACHE_DIR = "cache"  # run-level caches every stage shares: ChartMimic records, judge scores
JUDGE_CACHE = "judge_cache.jsonl"


def stage_name(key: str) -> str:
    """Resolve ``"02"``, ``"02_sft"`` or ``"sft"`` to the stage name ``"02_sft"``."""
    for name in STAGES:
        number, _, short = name.partition("_")
        if key in (name, number, short):
            return name
    raise KeyError(f"unknown stage {key!r}; stages are {', '.join(STAGES)}")


def stage_dir(run_dir: str | Path, stage: str) -> Path:
    return Path(run_dir) / stage_name(stage)


def _json_safe(value):
    """NaN/inf are not JSON: write them as null so every reader can load the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _json_safe(value.item())
    return value


def write_json(path: str | Path, data) -> Path:
    """Write JSON atomically (temp file + rename) so an interrupted run never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_json_safe(data), indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def read_json(path: str | Path):
    return json.loads(Path(path).read_text())


def read_metrics(run_dir: str | Path, stage: str) -> dict:
    path = stage_dir(run_dir, stage) / METRICS
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: run stage {stage_name(stage)} first "
            f"(python -m msrl.run --only {stage_name(stage)[:2]} --run-dir {run_dir})"
        )
    return read_json(path)
