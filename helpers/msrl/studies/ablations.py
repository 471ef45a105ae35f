"""The paper's RL ablations and the seed's proposed checks, as one plan of GRPO runs.

- ``stage 1 only``: the stage-1 runs of notebook 04 (textual + execution), reused, not retrained.
- ``two-stage``: the stage-2 runs of notebook 05 (the paper's curriculum), reused.
- ``single-stage hybrid``: weights (0.5, 0.5, 0.5) from the SFT model on both stages' prompts, for both
  stages' steps together (the paper's Table 5 comparison).
- ``linear ramp``: one stage from the SFT model on both stages' prompts and steps, the weights moving
  linearly from stage 1's (1, 0, 0.5) to stage 2's (0.5, 0.5, 0.5) over the first half of training
  (the seed's proposed alternative to two discrete stages); only where ``AblationPreset.ramp`` is on.
- ``sweep (wt, wv, we)``: short single-stage runs from the SFT model at other weight triples.

Hybrid and ramp use the same prompts and total steps as the two-stage curriculum, so the comparison
is at equal compute. Sweep runs are shorter (``AblationPreset.sweep_steps``) and compared among
themselves. Every run is one seed per entry of ``AblationPreset.seeds``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from msrl.training.curriculum import linear_ramp, single_stage
from msrl.training.grpo import run_name, run_stage, seed_checkpoints


@dataclass(frozen=True)
class Ablation:
    name: str
    weights: tuple[float, float, float]
    reused_stage: str | None = None  # "04_rl_stage1" / "05_rl_stage2": runs reused from that stage
    ramp: bool = False  # weights ramp from stage 1's to ``weights``
    sweep: bool = False  # a short sweep run


def plan(preset) -> list[Ablation]:
    s1, s2 = preset.rl_stage1.weights, preset.rl_stage2.weights
    ablations = [
        Ablation("stage 1 only", s1, reused_stage="04_rl_stage1"),
        Ablation("two-stage", s2, reused_stage="05_rl_stage2"),
        Ablation("single-stage hybrid", s2),
    ]
    if preset.ablations.ramp:
        ablations.append(Ablation("linear ramp", s2, ramp=True))
    ablations += [Ablation(f"sweep {w}", tuple(w), sweep=True) for w in preset.ablations.sweep]
    return ablations


def _folder(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def run(preset, ablation: Ablation, rl_split, sft_checkpoint, out_dir: Path, pool, judge) -> dict:
    """Train one (non-reused) ablation for every seed; returns {seed: checkpoint folder}."""
    seeds = preset.ablations.seeds
    folder = Path(out_dir) / _folder(ablation.name)
    s1 = preset.rl_stage1
    if ablation.sweep:
        stage = dataclasses.replace(s1, weights=ablation.weights, max_steps=preset.ablations.sweep_steps)
    else:  # both stages' prompts and steps in one run, as the curriculum had in two
        stage = single_stage(preset, ablation.weights)
    schedule = linear_ramp(s1.weights, ablation.weights, preset.ablations.ramp_share) if ablation.ramp else None
    run_stage(
        preset,
        "rl_stage1",
        rl_split,
        {seed: sft_checkpoint for seed in seeds},
        folder,
        pool,
        judge,
        stage=stage,
        weight_schedule=schedule,
    )
    return seed_checkpoints(folder, seeds)


def checkpoints(preset, ablation: Ablation, stage_dir_of) -> dict:
    """{seed: checkpoint} of a reused ablation (``stage_dir_of``: stage name -> its folder)."""
    return seed_checkpoints(stage_dir_of(ablation.reused_stage), preset.rl_seeds)


def evaluation_folder(ablation: Ablation, out_dir: Path, stage_dir_of) -> Path:
    """Where an ablation's saved generations live (a reused stage keeps them in its own folder)."""
    return stage_dir_of(ablation.reused_stage) if ablation.reused_stage else Path(out_dir) / _folder(ablation.name)


def model_name(ablation: Ablation, seed: int) -> str:
    """The name its evaluations are saved under (reused stages: the names notebooks 04/05 used)."""
    if ablation.reused_stage:
        return run_name(ablation.reused_stage, seed)
    return f"{_folder(ablation.name)}-seed{seed}"


def run_all(preset, rl_split, sft_checkpoint, out_dir: Path, pool, judge, stage_dir_of) -> dict:
    """{ablation name: {seed: checkpoint}} for the whole plan (reused stages are not retrained)."""
    return {
        a.name: checkpoints(preset, a, stage_dir_of)
        if a.reused_stage
        else run(preset, a, rl_split, sft_checkpoint, out_dir, pool, judge)
        for a in plan(preset)
    }


def evaluate_all(preset, trained: dict, sets: dict, pool, judge, out_dir: Path, stage_dir_of) -> dict:
    """{(ablation, seed): {set: ModelEvaluation}}; reused stages' saved generations are re-scored."""
    from msrl.evaluation.checkpoints import evaluate_checkpoint

    by_name = {a.name: a for a in plan(preset)}
    out = {}
    for name, seeds in trained.items():
        ablation = by_name[name]
        for seed, checkpoint in seeds.items():
            out[(name, seed)] = evaluate_checkpoint(
                model_name(ablation, seed),
                checkpoint,
                sets,
                pool,
                preset,
                evaluation_folder(ablation, out_dir, stage_dir_of),
                judge,
            )
    return out
