"""Runs survive a kill: the smoke series SIGKILLed at several points, resumed, compared with an
uninterrupted run (the session's ``smoke_run``); one runner per run folder."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import descendants, process_parents

from msrl import paths

pytestmark = pytest.mark.slow


# Longer trainings than smoke's 6 SFT and 2 GRPO steps, so that a kill after the first checkpoint
# lands mid-training: with 6 steps, a fast CI machine finished SFT between the first checkpoint and
# the kill, and nothing was left to resume.
LONGER = ["--set", "sft.max_steps=30", "--set", "rl_stage1.max_steps=6"]


def _runner(run_dir: Path, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "msrl.run", "--scale", "smoke", "--run-dir", str(run_dir), *LONGER]
    with open(log, "ab") as out:  # its own process group: "the whole group" is the runner and its kernel
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(
    condition, timeout: float, what: str, runner: subprocess.Popen | None = None, log: Path | None = None
) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        if runner is not None and runner.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise AssertionError(f"the runner ended (rc {runner.returncode}) before {what}\n{tail}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _kill_when(run_dir: Path, log: Path, ready, what: str, group: bool) -> None:
    """Start a runner, SIGKILL it (or its whole process group) once ``ready()``, and check that
    nothing it started is left running."""
    runner = _runner(run_dir, log)
    _wait(ready, 240, what, runner, log)
    tree = descendants(runner.pid)
    assert tree, "the runner has started its kernel"
    if group:
        os.killpg(runner.pid, signal.SIGKILL)
    else:
        runner.kill()
    runner.wait(timeout=10)
    alive = lambda: {pid for pid in tree if pid in process_parents()}  # noqa: E731
    _wait(lambda: not alive(), 30, f"the processes of the killed runner to exit ({what})")


def _running(run_dir: Path, stage: str) -> bool:
    try:
        return paths.read_json(run_dir / paths.MANIFEST)["stages"].get(stage, {}).get("status") == "running"
    except (OSError, ValueError):
        return False


def test_the_series_resumes_after_kills_and_matches_an_uninterrupted_run(smoke_run, tmp_path):
    reference_dir, _ = smoke_run
    run_dir, log = tmp_path / "run", tmp_path / "runner.log"
    run_dir.mkdir()
    shards = run_dir / "01_data" / "corpus" / "shards"
    checkpoints = lambda stage: list((run_dir / stage).glob("**/checkpoint-*/trainer_state.json"))  # noqa: E731

    # 1. the runner alone, mid corpus build (its kernel is orphaned and must stop by itself)
    _kill_when(run_dir, log, lambda: len(list(shards.glob("*.parquet"))) >= 1, "a first corpus shard", group=False)
    # 2. the whole process group, mid SFT, after its first checkpoint
    _kill_when(run_dir, log, lambda: checkpoints("02_sft"), "a first SFT checkpoint", group=True)
    assert not (run_dir / "02_sft" / "sft_done.json").exists(), "SFT finished before the kill: nothing to resume"
    # 3. the runner alone, mid GRPO stage 1, after its first checkpoint
    _kill_when(run_dir, log, lambda: checkpoints("04_rl_stage1"), "a first GRPO checkpoint", group=False)

    runner = _runner(run_dir, log)
    assert runner.wait(timeout=900) == 0, log.read_text()[-3000:]
    manifest = paths.read_json(run_dir / paths.MANIFEST)
    assert {stage: record["status"] for stage, record in manifest["stages"].items()} == dict.fromkeys(
        manifest["stages"], "ok"
    )
    assert len(manifest["stages"]) == 7

    # the same corpus: every split with the same rows, no duplicates, nothing missing
    from datasets import load_from_disk

    ours, theirs = (load_from_disk(str(d / "01_data" / "corpus" / "dataset")) for d in (run_dir, reference_dir))
    for split in theirs:
        assert ours[split]["code"] == theirs[split]["code"], split
        assert len(set(ours[split]["code"])) == len(ours[split]["code"])
    # the same metrics where seeds make them deterministic (the corpus build's, timings aside)
    # the build's own work (time, attempts, filters of the shards it built) differs after a resume
    work = {"build_seconds", "charts_per_s", "resumed_shards", "attempted", "rendered", "filter_counts"}
    strip = lambda m: {k: v for k, v in m.items() if k not in work}  # noqa: E731
    ours_01, theirs_01 = (paths.read_json(d / "01_data" / paths.METRICS) for d in (run_dir, reference_dir))
    assert strip(ours_01) == strip(theirs_01)
    # SFT resumed from a checkpoint (later ones rotated it away) and went on to its last step
    sft = paths.read_json(run_dir / "02_sft" / "sft_done.json")
    assert sft["resumed_from"] and Path(sft["resumed_from"]).name.startswith("checkpoint-")
    assert sft["global_step"] == 30
    for stage in ("02_sft", "03_plateau", "04_rl_stage1", "05_rl_stage2", "06_ablations", "07_eval"):
        ours_m, theirs_m = (paths.read_json(d / stage / paths.METRICS) for d in (run_dir, reference_dir))
        assert set(ours_m) == set(theirs_m), stage


def test_a_second_runner_on_the_same_folder_refuses(tmp_path):
    from msrl.run import RunLocked, runner_lock

    with runner_lock(tmp_path):
        second = subprocess.run(
            [sys.executable, "-m", "msrl.run", "--scale", "smoke", "--run-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0
        assert f"is being written by another runner (pid {os.getpid()}" in second.stderr
        with pytest.raises(RunLocked, match="another runner"):
            with runner_lock(tmp_path):
                pass
    with runner_lock(tmp_path):  # released when its holder finishes
        pass
    assert not (tmp_path / paths.MANIFEST).exists()  # the refused runner wrote nothing
