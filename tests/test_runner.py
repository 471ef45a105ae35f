"""The papermill runner: run, resume (skip done stages), --force, failure reporting."""

from pathlib import Path

import pytest

from msrl import paths
from msrl.run import StageFailed, run_series

TOY = Path(__file__).parent / "fixtures" / "toy_notebooks"


def test_runner_runs_skips_forces_and_reports_the_failing_cell(tmp_path):
    messages = []
    manifest = run_series("smoke", tmp_path, notebook_dir=TOY, echo=messages.append)
    assert [s["status"] for s in manifest["stages"].values()] == ["ok", "ok"]
    assert paths.read_json(tmp_path / "02_sft" / "metrics.json")["upstream_runs"] == 1
    assert (tmp_path / "executed" / "01_data.ipynb").exists()
    saved = paths.read_json(tmp_path / "manifest.json")
    assert saved["scale"] == "smoke" and saved["versions"]["papermill"]

    # resume: both done, nothing executes again
    run_series("smoke", tmp_path, notebook_dir=TOY, echo=messages.append)
    assert (tmp_path / "01_data" / "runs.txt").read_text() == "x"
    assert sum("skipped" in m for m in messages) == 2

    # --force with --only re-runs just that stage
    run_series("smoke", tmp_path, notebook_dir=TOY, only=["01"], force=True, echo=messages.append)
    assert (tmp_path / "01_data" / "runs.txt").read_text() == "xx"

    # a failing stage names the notebook, the cell and the error, and is recorded as failed
    with pytest.raises(StageFailed) as err:
        run_series(
            "smoke", tmp_path, notebook_dir=TOY, only=["02"], force=True, overrides={"seed": 99}, echo=messages.append
        )
    assert "02_sft failed in cell" in str(err.value)
    assert "ValueError: toy failure requested" in str(err.value)
    assert paths.read_json(tmp_path / "manifest.json")["stages"]["02_sft"]["status"] == "failed"

    # a stage that has not succeeded is not skipped on resume
    run_series("smoke", tmp_path, notebook_dir=TOY, echo=messages.append)
    manifest = paths.read_json(tmp_path / "manifest.json")
    assert manifest["stages"]["02_sft"]["status"] == "ok"
    # each finished stage names the commit it ran at (a continued run can mix commits)
    assert "git_commit" in manifest["stages"]["02_sft"]
    assert manifest["stages"]["02_sft"]["git_commit"] == manifest["git_commit"]


def test_each_stage_names_the_commit_it_started_at_and_a_change_while_it_ran(tmp_path, monkeypatch):
    import msrl.run

    # run start, then per stage: its start and its finish (the tree changes while 02 runs)
    commits = iter(["a", "b", "b", "c", "d"])
    monkeypatch.setattr(msrl.run, "git_commit", lambda: next(commits))
    manifest = run_series("smoke", tmp_path, notebook_dir=TOY, echo=lambda _: None)
    assert manifest["stages"]["01_data"]["git_commit"] == "b"
    assert "git_commit_at_finish" not in manifest["stages"]["01_data"]
    assert manifest["stages"]["02_sft"]["git_commit"] == "c"
    assert manifest["stages"]["02_sft"]["git_commit_at_finish"] == "d"


def test_runner_refuses_to_mix_scales_in_one_run_dir(tmp_path):
    run_series("smoke", tmp_path, notebook_dir=TOY, only=["01"], echo=lambda m: None)
    with pytest.raises(SystemExit, match="scale=smoke"):
        run_series("small", tmp_path, notebook_dir=TOY, only=["01"], echo=lambda m: None)


def test_a_stage_reading_a_missing_upstream_gets_a_clear_error(tmp_path):
    with pytest.raises(StageFailed, match="01_data has not finished"):
        run_series("smoke", tmp_path, notebook_dir=TOY, only=["02"], echo=lambda m: None)


def test_a_fresh_clone_finds_no_finished_stage(tmp_path):
    """Committed results live in results/, never in outputs/: a new user's `make run` runs every stage."""
    import subprocess
    import sys

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(paths.REPO_ROOT), str(clone)], check=True)
    tracked = subprocess.run(
        ["git", "ls-files", "outputs"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == ["outputs/.gitkeep"]
    for scale in ("small", "smoke"):
        status = subprocess.run(
            [sys.executable, "-m", "msrl.run", "--scale", scale, "--status"],
            cwd=clone,
            env={"PYTHONPATH": str(clone / "helpers"), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"0 stage(s) done in {clone / 'outputs' / scale}" in status, status
        assert status.count("to run") == len(paths.STAGES)


def test_kernels_get_the_malloc_settings_unless_the_user_set_them(monkeypatch):
    """The kernels' environment: the runner's pid and glibc's malloc settings, a user's value kept,
    and everything restored after the series."""
    import os

    from msrl.run import KERNEL_MALLOC_ENV, _kernel_environment

    monkeypatch.delenv("MALLOC_MMAP_MAX_", raising=False)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "123")
    with _kernel_environment():
        assert os.environ["MALLOC_MMAP_MAX_"] == KERNEL_MALLOC_ENV["MALLOC_MMAP_MAX_"] == "0"
        assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "123"
        assert os.environ[paths.RUNNER_PID_ENV] == str(os.getpid())
    assert "MALLOC_MMAP_MAX_" not in os.environ and os.environ["MALLOC_TRIM_THRESHOLD_"] == "123"
