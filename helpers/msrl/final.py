"""Stage 07's comparison: base, SFT, GRPO stage 1, stage 2 and the best other ablation, per set.

Earlier stages saved their generations (``evaluations/`` in their folders); they are re-scored here
with the same judge and metrics, so only the untrained base model is generated in stage 07. The
table is ``benchmark.seed_table``, as in stages 04-06.
"""

from __future__ import annotations

from pathlib import Path

from . import ablations as ablation_plan
from .benchmark import evaluate_checkpoint
from .grpo import evaluate_runs, seed_checkpoints
from .layout import CHECKPOINT_DIR, read_metrics


def best_ablation(preset, stage_input) -> tuple[str, list[int]] | None:
    """The non-reused ablation with the highest mean low-level score on the eval split, and its seeds."""
    reused = {a.name for a in ablation_plan.plan(preset) if a.reused_stage}
    rows = read_metrics(stage_input("06_ablations").parent, "06").get("evaluations", [])
    scores: dict[str, list[float]] = {}
    seeds: dict[str, list[int]] = {}
    for row in rows:
        if row["set"] == "eval split" and row["model"] not in reused:
            scores.setdefault(row["model"], []).append(row["low_level"])
            seeds.setdefault(row["model"], []).append(row["seed"])
    if not scores:
        return None
    best = max(scores, key=lambda name: sum(scores[name]) / len(scores[name]))
    return best, seeds[best]


def collect(preset, sets: dict, pool, judge, out_dir: Path, stage_input) -> dict:
    """{(model, seed): {set: ModelEvaluation}} for the final table."""
    out = {("base (untrained)", preset.seed): evaluate_checkpoint(
        "base", stage_input("02_sft", "init"), sets, pool, preset, out_dir, judge)}
    out[("SFT", preset.seed)] = evaluate_checkpoint("SFT", stage_input("02_sft", CHECKPOINT_DIR), sets, pool,
                                                   preset, stage_input("02_sft"), judge)
    for label, stage in (("GRPO stage 1", "04_rl_stage1"), ("GRPO stage 2", "05_rl_stage2")):
        for seed, evaluations in evaluate_runs(stage, stage_input(stage), preset.rl_seeds, sets, pool, preset,
                                               judge).items():
            out[(label, seed)] = evaluations
    best = best_ablation(preset, stage_input)
    if best is not None:
        name, seeds = best
        ablation = next(a for a in ablation_plan.plan(preset) if a.name == name)
        folder = ablation_plan.evaluation_folder(ablation, stage_input("06_ablations"), stage_input)
        for seed, checkpoint in seed_checkpoints(folder, seeds).items():
            out[(f"best ablation: {name}", seed)] = evaluate_checkpoint(
                ablation_plan.model_name(ablation, seed), checkpoint, sets, pool, preset, folder, judge)
    return out


def notes(rows: list[dict]) -> list[str]:
    """Plain statements of the measured changes between consecutive models (no judgement added)."""
    means = {(r["model"], r["set"]): r for r in rows}
    out = []
    for set_name in dict.fromkeys(r["set"] for r in rows):
        for before, after in (("SFT", "GRPO stage 1"), ("GRPO stage 1", "GRPO stage 2"), ("SFT", "GRPO stage 2")):
            a, b = means.get((before, set_name)), means.get((after, set_name))
            if not a or not b:
                continue
            changes = ", ".join(f"{m.replace('_', ' ')} {b[m + '_mean'] - a[m + '_mean']:+.1f}"
                                for m in ("execution_rate", "low_level", "judge") if m + "_mean" in a and m + "_mean" in b)
            out.append(f"{set_name}: {before} -> {after}: {changes} (means over seeds)")
    return out


def ablation_rows(stage_input) -> list[dict]:
    """The ablation table of stage 06 (``benchmark.seed_table``'s strings) for the report."""
    rows = read_metrics(stage_input("06_ablations").parent, "06").get("table", [])
    return [{"ablation": r["model"], **{k: v for k, v in r.items() if k != "model"}} for r in rows]
