"""The GPU device check (bench/device_check.py) runs end to end on CPU with the smoke model, so that
the script a lent GPU gets has run before it is needed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "device_check.py"


def test_the_device_check_rehearses_on_cpu(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--tiny"], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "device_check.json").read_text())
    assert report["facts"]["device"].startswith("CPU")
    assert report["sft"]["steps"] == 4 and report["sft"]["code_tokens_per_s"] > 0
    grpo = report["grpo"]
    assert grpo["steps"] == 2 and grpo["rollouts"] == "transformers generate"
    assert grpo["generation_s"] > 0 and grpo["reward_s"] > 0 and grpo["update_s"] > 0
    assert grpo["generation_s"] + grpo["reward_s"] + grpo["update_s"] == pytest.approx(
        grpo["seconds_per_step"], abs=2e-3
    )
    assert report["peak_memory_gib"] > 0
