"""The paper's RL curriculum: the order of the stages, the prompts each draws, their weights and schedules.

Stage 1 (``rl_stage1``, notebook 04) starts from the SFT model with weights (wt, wv, we) = (1, 0, 0.5)
on the first ``n_prompts`` rows of the ``rl`` split; stage 2 (``rl_stage2``, notebook 05) starts from
stage 1's model with (0.5, 0.5, 0.5) on the next, disjoint rows (the paper: 22k then 11k prompts).
The weights and sizes themselves are preset values; this module says how they fit together, and
builds the two alternatives the ablations compare with it: one hybrid stage with both stages'
prompts and steps, and a linear ramp of the weights from stage 1's to stage 2's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from msrl.presets import Preset, RLStagePreset


@dataclass(frozen=True)
class CurriculumStage:
    key: str  # the preset field holding its settings
    stage: str  # its notebook and folder
    starts_from: str  # the stage whose models it trains further


STAGES = (
    CurriculumStage("rl_stage1", "04_rl_stage1", "02_sft"),
    CurriculumStage("rl_stage2", "05_rl_stage2", "04_rl_stage1"),
)
STAGE_KEYS = tuple(s.key for s in STAGES)


def settings(preset: Preset, key: str) -> RLStagePreset:
    return getattr(preset, key)


def prompt_offset(preset: Preset, key: str) -> int:
    """Where a stage's prompts start in the ``rl`` split: each stage follows the ones before it."""
    keys = [s.key for s in STAGES]
    return sum(settings(preset, k).n_prompts for k in keys[: keys.index(key)])


def single_stage(preset: Preset, weights: tuple[float, float, float]) -> RLStagePreset:
    """One stage with all the curriculum's prompts and steps and fixed ``weights`` (the hybrid)."""
    first, rest = settings(preset, STAGES[0].key), [settings(preset, s.key) for s in STAGES[1:]]
    return dataclasses.replace(
        first,
        weights=tuple(weights),
        n_prompts=first.n_prompts + sum(s.n_prompts for s in rest),
        max_steps=first.max_steps + sum(s.max_steps for s in rest),
    )


def linear_ramp(
    start: tuple[float, float, float], end: tuple[float, float, float], ramp_share: float = 0.5
) -> Callable:
    """Weights moving linearly from ``start`` to ``end`` over the first ``ramp_share`` of training,
    then held (the seed's alternative to two stages: from (1, 0, 0.5) to (0.5, 0.5, 0.5))."""

    def schedule(progress: float) -> tuple[float, float, float]:
        t = min(1.0, progress / ramp_share)
        return tuple(a + (b - a) * t for a, b in zip(start, end))

    return schedule
