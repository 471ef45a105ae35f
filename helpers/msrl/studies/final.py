"""Stage 07's comparison: base, SFT, GRPO stage 1, stage 2 and the best other ablation, per set.

Earlier stages saved their generations (``evaluations/`` in their folders); they are re-scored here
with the same judge and metrics, so only the untrained base model is generated in stage 07. The
table is ``benchmark.seed_table``, as in stages 04-06.
"""

from __future__ import annotations

from pathlib import Path

from msrl.evaluation.checkpoints import evaluate_checkpoint, evaluate_runs
from msrl.paths import CHECKPOINT_DIR, INIT_DIR, read_metrics
from msrl.studies import ablations as ablation_plan
from msrl.training.grpo import seed_checkpoints

HYBRID = "single-stage hybrid"


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
    out = {
        ("base (untrained)", preset.seed): evaluate_checkpoint(
            "base", stage_input("02_sft", INIT_DIR), sets, pool, preset, out_dir, judge
        )
    }
    out[("SFT", preset.seed)] = evaluate_checkpoint(
        "SFT", stage_input("02_sft", CHECKPOINT_DIR), sets, pool, preset, stage_input("02_sft"), judge
    )
    for label, stage in (("GRPO stage 1", "04_rl_stage1"), ("GRPO stage 2", "05_rl_stage2")):
        for seed, evaluations in evaluate_runs(
            stage, stage_input(stage), preset.rl_seeds, sets, pool, preset, judge
        ).items():
            out[(label, seed)] = evaluations
    # The single-stage hybrid is always compared with the curriculum; the best other ablation is shown too.
    chosen = [("single-stage hybrid", HYBRID, list(preset.ablations.seeds))]
    best = best_ablation(preset, stage_input)
    if best is not None and best[0] != HYBRID:
        chosen.append((f"best ablation: {best[0]}", best[0], best[1]))
    plan = {a.name: a for a in ablation_plan.plan(preset)}
    for label, name, seeds in chosen:
        folder = ablation_plan.evaluation_folder(plan[name], stage_input("06_ablations"), stage_input)
        for seed, checkpoint in seed_checkpoints(folder, seeds).items():
            out[(label, seed)] = evaluate_checkpoint(
                ablation_plan.model_name(plan[name], seed), checkpoint, sets, pool, preset, folder, judge
            )
    return out


# (before, after) model pairs compared item by item in the notes: the paper's RL gains, and its
# curriculum (two stages) against one hybrid stage with the same total steps.
COMPARISONS = (
    ("SFT", "GRPO stage 1"),
    ("GRPO stage 1", "GRPO stage 2"),
    ("SFT", "GRPO stage 2"),
    ("single-stage hybrid", "GRPO stage 2"),
)
PAIRED_METRICS = ("execution_rate", "low_level", "judge", "image_gain")


def changes_text(changes: list[dict]) -> str:
    """``paired_difference`` results as "execution rate +4.0 [-1.5, +9.5], low level ..."."""
    return ", ".join(
        f"{d['metric'].replace('_', ' ')} {d['mean']:+.1f} [{d['low']:+.1f}, {d['high']:+.1f}]" for d in changes
    )


def notes(evaluations: dict) -> list[str]:
    """Plain statements of the measured paired differences (no judgement added):
    ``{(model, seed): {set: ModelEvaluation}}`` -> one line per compared pair and set."""
    from msrl.evaluation.statistics import paired_difference

    by_model: dict[tuple[str, str], dict] = {}
    for (model, seed), sets in evaluations.items():
        for set_name, evaluation in sets.items():
            by_model.setdefault((model, set_name), {})[seed] = evaluation
    out = []
    for set_name in dict.fromkeys(s for sets in evaluations.values() for s in sets):
        for before, after in COMPARISONS:
            a, b = by_model.get((before, set_name)), by_model.get((after, set_name))
            if not a or not b:
                continue
            changes = [d for d in (paired_difference(a, b, m) for m in PAIRED_METRICS) if d is not None]
            if not changes:
                continue
            out.append(
                f"{set_name}: {before} -> {after}: {changes_text(changes)} (paired over {changes[0]['n']} item pairs "
                f"from {changes[0]['pairs']} seed(s); 95 % bootstrap interval)"
            )
    return out


def ablation_rows(stage_input) -> list[dict]:
    """The ablation table of stage 06 (``benchmark.seed_table``'s strings) for the report."""
    rows = read_metrics(stage_input("06_ablations").parent, "06").get("table", [])
    return [{"ablation": r["model"], **{k: v for k, v in r.items() if k != "model"}} for r in rows]
