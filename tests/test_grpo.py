"""GRPO: a killed run resumes; prompts of the two stages are disjoint; weight schedules; ablation plan."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from msrl.presets import SMALL, get_preset
from msrl.studies import ablations
from msrl.training import curriculum, grpo

TRAIN = """
import dataclasses, sys
from msrl.data.corpus import load_corpus
from msrl.training.grpo import rl_prompts, train_grpo
from msrl.training.model import base_checkpoint
from msrl.presets import get_preset
from msrl.execution.sandbox import RenderPool
preset = get_preset("smoke")
stage = dataclasses.replace(preset.rl_stage1, max_steps=int(sys.argv[3]), save_steps=1)
corpus = load_corpus(sys.argv[1])
base = base_checkpoint(preset.model, sys.argv[2], sys.argv[4] + "/init")
prompts = rl_prompts(corpus["rl"], preset.instruction, stage.n_prompts)
with RenderPool(workers=1, dpi=preset.data.dpi, max_px=preset.data.image_px) as pool:
    record = train_grpo(preset, stage, base, prompts, sys.argv[4] + "/grpo", pool=pool)
print(record["global_step"])
"""


def test_a_killed_grpo_run_resumes_from_its_last_checkpoint(smoke_corpus, tmp_path):
    out, _, tokenizer_dir, _ = smoke_corpus
    args = [str(out / "corpus" / "dataset"), str(tokenizer_dir), "4", str(tmp_path)]
    trainer_dir = tmp_path / "grpo" / "trainer"
    process = subprocess.Popen(
        [sys.executable, "-c", TRAIN, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and not grpo.last_checkpoint(trainer_dir) and process.poll() is None:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = grpo.last_checkpoint(trainer_dir)
    assert killed_at, "no checkpoint was written before the kill"
    assert not (tmp_path / "grpo" / grpo.DONE_FILE).exists()

    done = subprocess.run([sys.executable, "-c", TRAIN, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((tmp_path / "grpo" / grpo.DONE_FILE).read_text())
    assert record["resumed_from"] == killed_at and record["global_step"] == 4
    assert record["rewards"] == {"textual": 1.0, "execution": 0.5}
    logged = [h for h in record["log_history"] if "reward" in h]
    assert logged and all("rewards/textual/mean" in h and "rewards/execution/mean" in h for h in logged)
    assert 0 < record["reward_time_share"] < 1
    assert (tmp_path / "grpo" / "checkpoint" / "model.safetensors").exists()


def test_the_two_stages_draw_disjoint_prompts(smoke_corpus):
    _, dataset, _, _ = smoke_corpus
    preset = get_preset("smoke")
    first = grpo.rl_prompts(
        dataset["rl"], preset.instruction, preset.rl_stage1.n_prompts, curriculum.prompt_offset(preset, "rl_stage1")
    )
    second = grpo.rl_prompts(
        dataset["rl"], preset.instruction, preset.rl_stage2.n_prompts, curriculum.prompt_offset(preset, "rl_stage2")
    )
    assert set(first["record"]).isdisjoint(second["record"])
    assert set(first.column_names) == {"prompt", "image", "record", "chart_text"}  # chart_text: for the judge
    with pytest.raises(ValueError, match="rl split has"):
        grpo.rl_prompts(dataset["rl"], preset.instruction, len(dataset["rl"]) + 1)


def test_linear_ramp_moves_the_weights_over_the_first_half_then_holds():
    ramp = curriculum.linear_ramp((1.0, 0.0, 0.5), (0.5, 0.5, 0.5), 0.5)
    assert ramp(0.0) == (1.0, 0.0, 0.5)
    assert ramp(0.25) == pytest.approx((0.75, 0.25, 0.5))
    assert ramp(0.5) == ramp(1.0) == pytest.approx((0.5, 0.5, 0.5))


def test_only_rewards_with_weight_are_computed():
    assert grpo.active_rewards((1.0, 0.0, 0.5)) == ["textual", "execution"]
    assert grpo.active_rewards((0.5, 0.5, 0.5)) == ["textual", "visual", "execution"]
    # a ramp that starts at zero visual weight still needs the visual reward later
    ramp = curriculum.linear_ramp((1.0, 0.0, 0.5), (0.5, 0.5, 0.5))
    assert grpo.active_rewards((1.0, 0.0, 0.5), ramp) == ["textual", "visual", "execution"]


def test_the_schedule_callback_sets_the_trainers_reward_weights_each_step():
    trainer = SimpleNamespace(reward_weights=None)
    callback = grpo._schedule_callback(
        {"trainer": trainer},
        curriculum.linear_ramp((1.0, 0.0, 0.5), (0.5, 0.5, 0.5)),
        ["textual", "visual", "execution"],
    )
    callback.on_step_begin(None, SimpleNamespace(global_step=5, max_steps=20), None)
    assert trainer.reward_weights.tolist() == pytest.approx([0.75, 0.25, 0.5])
    callback.on_step_begin(None, SimpleNamespace(global_step=20, max_steps=20), None)
    assert trainer.reward_weights.tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_the_stage_configs_carry_the_paper_weights_and_preset_values(tmp_path):
    for preset in (get_preset("small"), get_preset("paper")):
        assert preset.rl_stage1.weights == (1.0, 0.0, 0.5) and preset.rl_stage2.weights == (0.5, 0.5, 0.5)
    paper = get_preset("paper")
    config = grpo.grpo_config(paper.rl_stage2, tmp_path, 42, [0.5, 0.5, 0.5])
    assert config.use_vllm and config.num_generations == 8 and config.beta == 0.0
    assert config.loss_type == "dapo" and config.reward_weights == [0.5, 0.5, 0.5]


def test_the_ablation_plan_runs_hybrid_and_ramp_at_the_curriculums_compute(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        ablations,
        "run_stage",
        lambda preset, key, split, bases, folder, pool, judge, stage, weight_schedule: calls.append(
            (folder.name, stage, weight_schedule)
        ),
    )
    # the small preset has no sweeps and no ramp: give it both to check how their runs are built
    assert [a.name for a in ablations.plan(SMALL)] == ["stage 1 only", "two-stage", "single-stage hybrid"]
    more = dataclasses.replace(SMALL.ablations, sweep=((1.0, 0.0, 0.0),), ramp=True)
    preset = dataclasses.replace(SMALL, ablations=more)
    names = [a.name for a in ablations.plan(preset)]
    assert names[:4] == ["stage 1 only", "two-stage", "single-stage hybrid", "linear ramp"]
    assert len(names) == 4 + len(preset.ablations.sweep)
    by_name = {a.name: a for a in ablations.plan(preset)}
    for name in ("single-stage hybrid", "linear ramp", names[4]):
        ablations.run(preset, by_name[name], None, "sft", tmp_path, None, None)
    (_, hybrid, no_ramp), (_, ramped, ramp), (_, sweep, _) = calls
    s1, s2 = preset.rl_stage1, preset.rl_stage2
    assert hybrid.max_steps == ramped.max_steps == s1.max_steps + s2.max_steps
    assert hybrid.n_prompts == s1.n_prompts + s2.n_prompts and hybrid.weights == (0.5, 0.5, 0.5)
    assert no_ramp is None and ramp(0.0) == s1.weights and ramp(0.5) == pytest.approx(s2.weights)
    assert sweep.max_steps == preset.ablations.sweep_steps and sweep.weights == preset.ablations.sweep[0]
    assert dataclasses.replace(sweep, weights=s1.weights, max_steps=s1.max_steps) == s1


def test_the_curriculum_orders_the_stages_and_builds_the_hybrid():
    assert [s.stage for s in curriculum.STAGES] == ["04_rl_stage1", "05_rl_stage2"]
    assert [s.starts_from for s in curriculum.STAGES] == ["02_sft", "04_rl_stage1"]
    assert curriculum.prompt_offset(SMALL, "rl_stage1") == 0
    assert curriculum.prompt_offset(SMALL, "rl_stage2") == SMALL.rl_stage1.n_prompts
    hybrid = curriculum.single_stage(SMALL, SMALL.rl_stage2.weights)
    assert hybrid.weights == SMALL.rl_stage2.weights
    assert hybrid.n_prompts == SMALL.rl_stage1.n_prompts + SMALL.rl_stage2.n_prompts
    assert hybrid.max_steps == SMALL.rl_stage1.max_steps + SMALL.rl_stage2.max_steps
