"""The paper path's launch, rehearsed on CPU: ``torchrun`` with 2 processes (gloo) runs
``msrl.training.sft`` and ``msrl.training.grpo --stage 1/2`` on the tiny model at smoke size, through
the same code the paper preset uses. It catches what only breaks with more than one process."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import descendants, process_parents

from msrl import paths

pytestmark = pytest.mark.slow
TORCHRUN = Path(sys.executable).with_name("torchrun")


def _launch(module: str, run_dir: Path, *args: str, log: Path) -> subprocess.Popen:
    command = [str(TORCHRUN), "--nproc_per_node", "2", "-m", module, "--scale", "smoke", "--run-dir", str(run_dir)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*command, *args], stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _run(module: str, run_dir: Path, *args: str, log: Path) -> None:
    process = _launch(module, run_dir, *args, log=log)
    assert process.wait(timeout=600) == 0, log.read_text()[-4000:]


@pytest.fixture(scope="module")
def run_dir(smoke_run, tmp_path_factory):
    """A run folder holding only the smoke run's corpus (stage 01)."""
    source, _ = smoke_run
    target = tmp_path_factory.mktemp("two_process") / "run"
    shutil.copytree(source / "01_data", target / "01_data")
    return target


def test_sft_then_both_grpo_stages_run_as_two_processes(run_dir, tmp_path):
    log = tmp_path / "launch.log"
    _run("msrl.training.sft", run_dir, log=log)
    sft = paths.read_json(run_dir / "02_sft" / "sft_done.json")
    # 48 pairs, 4 per process and step: 2 processes finish the epoch in 6 steps (1 process: half of it)
    assert sft["global_step"] == 6 and sft["log_history"][-1]["epoch"] == pytest.approx(1.0)
    assert (run_dir / "02_sft" / "checkpoint" / "model.safetensors").exists()
    for stage, folder in (("1", "04_rl_stage1"), ("2", "05_rl_stage2")):
        _run("msrl.training.grpo", run_dir, "--stage", stage, log=log)
        done = paths.read_json(run_dir / folder / "seed-0" / "grpo_done.json")
        steps = [h for h in done["log_history"] if "reward" in h]
        # 4 prompts, 2 per process and step: one step is an epoch when the data are sharded
        assert steps[0]["epoch"] == pytest.approx(1.0), stage
        # logs are gathered: tokens counted over both ranks' completions; every reward was computed
        assert steps[0]["num_tokens"] > 0 and 0 < done["reward_time_share"] < 1
        assert set(done["rewards"]) == (
            {"execution", "textual"} if stage == "1" else {"execution", "textual", "visual"}
        )
    log_text = log.read_text()
    assert "parallel_mode != ParallelMode.DISTRIBUTED" not in log_text  # each rank would train alone


def test_a_killed_two_process_sft_resumes_from_a_complete_checkpoint(run_dir, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_dir / "01_data", folder / "01_data")
    log = tmp_path / "kill.log"
    settings = ["--set", "sft.max_steps=200", "--set", "sft.save_steps=4", "--set", "sft.vision_warmup_steps=0"]
    process = _launch("msrl.training.sft", folder, *settings, log=log)
    trainer = folder / "02_sft" / "trainer"
    deadline = time.monotonic() + 300
    while not list(trainer.glob("checkpoint-*/trainer_state.json")):
        assert process.poll() is None, log.read_text()[-4000:]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.1)
    ranks = descendants(process.pid)
    os.killpg(process.pid, signal.SIGKILL)  # the launcher's group; its ranks must notice and exit
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while ranks & set(process_parents()):
        assert time.monotonic() < deadline, "a rank outlived its launcher"
        time.sleep(0.1)
    assert not (folder / "02_sft" / "sft_done.json").exists()
    left = sorted(str(p.relative_to(trainer)) for p in trainer.glob("checkpoint-*/*"))
    _run("msrl.training.sft", folder, *settings, log=log)
    done = paths.read_json(folder / "02_sft" / "sft_done.json")
    assert done["resumed_from"], f"not resumed; after the kill the trainer folder held {left}"
    resumed = Path(done["resumed_from"])
    assert resumed.parent == trainer and f"{resumed.name}/trainer_state.json" in left  # complete when killed
    assert 4 <= int(resumed.name.split("-")[1]) < 200 and done["global_step"] == 200
    # the weights came back: the Trainer's raw state-dict load (which matched no key) is not used
    assert "There were missing keys in the checkpoint model loaded" not in log.read_text()


def test_a_finished_rank_destroys_its_process_group(tmp_path):
    import torch.distributed as dist

    from msrl.training.distributed import finish_process_group

    finish_process_group()  # no group: nothing to do
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    assert dist.is_initialized()
    finish_process_group()
    assert not dist.is_initialized()
