"""The RL and curriculum comparisons of stage 07, pooled over series of different SFT seeds:
``python -m msrl.studies.across_runs results/small_ocr300 results/small_seed1_ocr --corpus-run outputs/small``.

Stage 07 compares models inside one series: one SFT model and the RL runs started from it
(``rl_seeds``). Whether a gain holds beyond one SFT model needs series of other SFT seeds (``msrl.run
--seed 1``). This reads each series' saved programs (``<stage>/evaluations``, kept in a published
``results/<run>`` too), re-scores them in the sandbox on the same items, pairs each RL run with the
SFT model of its own series, and pools the per-item differences over every (SFT seed, RL seed) pair.

Departures: the paper reports single runs. Execution and low-level only, no judge (07 reports the
judge per series). The 95 % interval is a bootstrap over the pooled item differences: it does not
widen for the spread between SFT seeds, so each series' own line is printed beside the pooled one.
"""

from __future__ import annotations

from pathlib import Path

from msrl.evaluation import checkpoints
from msrl.evaluation.statistics import paired_difference
from msrl.paths import CORPUS_DIR, EVALUATIONS_DIR, MANIFEST, read_json, stage_dir
from msrl.presets import PRESETS
from msrl.studies import ablations as ablation_plan
from msrl.studies.final import COMPARISONS, HYBRID, changes_text
from msrl.training.grpo import run_name

METRICS = ("execution_rate", "low_level")


def saved_programs(run_dir: Path, preset) -> dict[str, dict[int, tuple[Path, str]]]:
    """{model: {RL seed: (evaluations folder, model name)}}, the names 02, 04, 05 and 06 saved under."""
    hybrid = next(a for a in ablation_plan.plan(preset) if a.name == HYBRID)
    hybrid_dir = ablation_plan.evaluation_folder(hybrid, stage_dir(run_dir, "06"), lambda s: stage_dir(run_dir, s))
    out = {"SFT": {seed: (stage_dir(run_dir, "02"), "SFT") for seed in preset.rl_seeds}}
    for label, stage in (("GRPO stage 1", "04_rl_stage1"), ("GRPO stage 2", "05_rl_stage2")):
        out[label] = {seed: (stage_dir(run_dir, stage), run_name(stage, seed)) for seed in preset.rl_seeds}
    out[HYBRID] = {seed: (hybrid_dir, ablation_plan.model_name(hybrid, seed)) for seed in preset.ablations.seeds}
    return out


def scored(run_dirs: list[Path], sets: dict[str, list[dict]], pool, preset) -> dict:
    """{(set, model, (SFT seed, RL seed)): ModelEvaluation} re-scored from each series' saved programs."""
    out, loaded = {}, {}
    for run_dir in run_dirs:
        sft_seed = read_json(run_dir / MANIFEST)["seed"]
        for model, runs in saved_programs(run_dir, preset).items():
            for rl_seed, (folder, name) in runs.items():
                for set_name, items in sets.items():
                    path = folder / EVALUATIONS_DIR / checkpoints.evaluation_file(name, set_name)
                    if path not in loaded:  # the SFT model's file serves every RL seed: scored once
                        loaded[path] = checkpoints.load_evaluation(path, items, pool) if path.exists() else None
                    if loaded[path] is None:
                        raise FileNotFoundError(f"{path}: no saved programs for these items (run 02-07 there)")
                    out[(set_name, model, (sft_seed, rl_seed))] = loaded[path]
    return out


def pooled_lines(evaluations: dict) -> list[str]:
    """One line per set, comparison and pooling (all series, then each SFT seed alone)."""
    sft_seeds = sorted({run[0] for (_, _, run) in evaluations})
    lines = []
    for set_name in dict.fromkeys(key[0] for key in evaluations):
        for before, after in COMPARISONS:
            for label, seeds in (("pooled", sft_seeds), *((f"SFT seed {s}", [s]) for s in sft_seeds)):
                # the runs both models have (the hybrid's seeds may differ from the RL stages')
                runs = [
                    run
                    for (set_, model, run) in evaluations
                    if set_ == set_name
                    and model == after
                    and run[0] in seeds
                    and (set_name, before, run) in evaluations
                ]
                changes = [
                    paired_difference(
                        {run: evaluations[(set_name, before, run)] for run in runs},
                        {run: evaluations[(set_name, after, run)] for run in runs},
                        metric,
                    )
                    for metric in METRICS
                ]
                text = changes_text([d for d in changes if d is not None])
                lines.append(f"{set_name}, {label}: {before} -> {after}: {text} ({changes[0]['n']} item pairs)")
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    from msrl.data.corpus import DATASET_DIR, load_corpus
    from msrl.execution.sandbox import RenderPool

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="series (outputs/<run> or results/<run>), one per SFT seed")
    parser.add_argument("--corpus-run", type=Path, required=True, help="a run directory that holds 01's corpus")
    parser.add_argument("--scale", default="small")
    args = parser.parse_args(argv)
    preset = PRESETS[args.scale]
    corpus = load_corpus(stage_dir(args.corpus_run, "01") / CORPUS_DIR / DATASET_DIR)
    sft_seeds = [read_json(run / MANIFEST)["seed"] for run in args.runs]
    if len(set(sft_seeds)) != len(sft_seeds):
        raise SystemExit(f"the series must have different SFT seeds; they have {sft_seeds}")
    with RenderPool() as pool:
        sets = checkpoints.item_sets(preset, corpus, pool, args.corpus_run)
        for line in pooled_lines(scored(args.runs, sets, pool, preset)):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
