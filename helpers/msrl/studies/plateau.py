"""The SFT plateau study: the same SFT protocol at growing data sizes, and a token-weighted variant.

Protocol: for each size on the preset's geometric grid, each seed, and each loss (uniform, and
token-weighted if enabled), train a fresh model from the same initial weights (stage 02's
vision warm-up, shared like a pretrained vision tower) over a seeded random subset of the ``sft``
split, then score it on the same held-out ``eval`` items. Compute is held either **per sample**
(one epoch at every size, as the paper's SFT runs: a larger size means more steps) or **per run**
(``fixed_steps`` at every size: smaller sizes repeat their data). Per sample measures what more
data buys under the paper's recipe, but at CPU scale its small sizes get a few dozen steps and
every model scores 0 (our earlier small runs: 4 to 50 steps, all zero). Per run holds the compute
that makes a model write code and asks what more *distinct* data buys; the small preset uses it.

Each finished run is appended to ``runs.jsonl``, so an interrupted study resumes at the next run.
``plateau_point`` names a knee only where the curve first rises and then flattens: the first size
after which every doubling gains less than ``min_gain`` points. A curve that is flat everywhere
(e.g. zero) or still rising has no knee.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

RUNS_FILE = "runs.jsonl"
VARIANTS = ("uniform", "token_weighted")


def run_steps(plateau, size: int) -> int:
    """Optimizer steps of one run: ``fixed_steps`` when set (compute held per run), else one pass
    over ``size`` pairs at ``steps_per_sample`` (compute held per sample)."""
    if plateau.fixed_steps > 0:
        return plateau.fixed_steps
    return max(1, math.ceil(size * plateau.steps_per_sample))


def compute_protocol(plateau) -> str:
    if plateau.fixed_steps > 0:
        return f"fixed per run: {plateau.fixed_steps} steps at every size"
    return f"per sample: {plateau.steps_per_sample} steps per pair (one epoch at every size)"


def completed_runs(out_dir: Path) -> list[dict]:
    """The rows written so far. A kill during an append leaves a torn last line: it is dropped (and
    the file rewritten without it), so that run is trained again."""
    path = out_dir / RUNS_FILE
    if not path.exists():
        return []
    rows, torn = [], False
    for line in filter(str.strip, path.read_text().splitlines()):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            torn = True
    if torn:
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(row) + "\n" for row in rows))
        tmp.replace(path)
    return rows


def run_study(
    preset, base: str, corpus, out_dir: str | Path, pool, eval_items: list[dict], progress=print
) -> list[dict]:
    """Every (size, seed, variant) run; returns the rows (one per run) including earlier ones."""
    from msrl.evaluation.checkpoints import evaluate_model, named_type_rate
    from msrl.training.model import load_model_and_processor
    from msrl.training.sft import content_token_weights, train_sft

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = completed_runs(out_dir)
    done = {(r["size"], r["seed"], r["variant"]) for r in rows}
    variants = VARIANTS if preset.plateau.token_weighting else VARIANTS[:1]
    weighted_seeds = preset.plateau.token_weighted_seeds or preset.plateau.seeds
    weights = None
    sizes = [s for s in preset.plateau.sizes if s <= len(corpus["sft"])]
    for size in sizes:
        for seed in preset.plateau.seeds:
            for variant in variants:
                if (size, seed, variant) in done or (variant == "token_weighted" and seed not in weighted_seeds):
                    continue
                subset = corpus["sft"].shuffle(seed=seed).select(range(size))
                steps = run_steps(preset.plateau, size)
                # the base already had its warm-up (02's, shared by every run): SFT only
                sft = dataclasses.replace(
                    preset.sft,
                    epochs=1,
                    max_steps=steps,
                    save_steps=10**9,
                    logging_steps=max(1, steps // 10),
                    vision_warmup_steps=0,
                )
                if variant == "token_weighted" and weights is None:
                    from transformers import AutoTokenizer

                    tokenizer = AutoTokenizer.from_pretrained(base)
                    sample = corpus["sft"]["code"][: preset.plateau.weight_sample]
                    weights = content_token_weights(tokenizer, sample, preset.plateau.content_weight)
                run_dir = out_dir / f"run-{size}-{seed}-{variant}"
                shutil.rmtree(run_dir, ignore_errors=True)  # a run interrupted mid-way starts over
                run = train_sft(
                    dataclasses.replace(preset, seed=seed),
                    base,
                    subset,
                    run_dir,
                    token_weights=weights if variant == "token_weighted" else None,
                    sft=sft,
                )
                model, processor = load_model_and_processor(run_dir / "checkpoint", preset.model)
                scored = evaluate_model(
                    f"{size}/{seed}/{variant}",
                    model,
                    processor,
                    eval_items,
                    pool,
                    preset.instruction,
                    preset.eval.max_new_tokens,
                    preset.eval.batch_size,
                    stop_repeats=preset.eval.stop_repeats,
                    repetition_penalty=preset.eval.repetition_penalty,
                )
                losses = [h["loss"] for h in run["log_history"] if "loss" in h]
                row = {
                    "size": size,
                    "seed": seed,
                    "variant": variant,
                    "steps": run["global_step"],
                    "train_seconds": round(run["seconds"], 1),
                    "final_loss": losses[-1] if losses else None,
                    **scored.summary,
                    "type_named": named_type_rate(eval_items, scored.generated),
                }
                with open(out_dir / RUNS_FILE, "a") as f:
                    f.write(json.dumps(row) + "\n")
                shutil.rmtree(run_dir, ignore_errors=True)  # weights are not kept: the rows are the result
                rows.append(row)
                progress(
                    f"size {size} seed {seed} {variant}: execution {row['execution_rate']:.1f}% "
                    f"low-level {row['low_level']:.1f} ({row['train_seconds']} s)"
                )
    return rows


def aggregate(rows: list[dict], metric: str) -> dict[str, list[tuple[int, float, float]]]:
    """{variant: [(size, mean, std over seeds)]} sorted by size."""
    import numpy as np

    out: dict[str, list] = {}
    for variant in sorted({r["variant"] for r in rows}):
        sizes = sorted({r["size"] for r in rows if r["variant"] == variant})
        points = []
        for size in sizes:
            values = [r[metric] for r in rows if r["variant"] == variant and r["size"] == size]
            points.append((size, float(np.mean(values)), float(np.std(values))))
        out[variant] = points
    return out


def plateau_point(points: list[tuple[int, float, float]], min_gain: float = 1.0) -> int | None:
    """The knee: the first size after which every further doubling gains less than ``min_gain``,
    provided the curve rose by at least ``min_gain`` per doubling somewhere before it. None ("no
    plateau within these sizes") when the curve never rises (e.g. zero everywhere) or still rises at
    its largest size."""
    gains = [
        (next_mean - mean) / max(1e-9, math.log2(next_size / size))
        for (size, mean, _), (next_size, next_mean, _) in zip(points, points[1:])
    ]
    for k in range(1, len(points) - 1):
        if any(g >= min_gain for g in gains[:k]) and all(g < min_gain for g in gains[k:]):
            return points[k][0]
    return None


def plot(
    rows: list[dict],
    metrics=("execution_rate", "low_level", "type_named", "layout", "type", "color", "final_loss"),
):
    """One panel per metric; the final training loss is shown too, since at small sizes every score
    can be zero while the loss still moves with the data size."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(17, 7))
    for ax in axes.flat[len(metrics) :]:
        ax.set_visible(False)
    for ax, metric in zip(axes.flat, metrics):
        for variant, points in aggregate(rows, metric).items():
            sizes, means, stds = zip(*points)
            ax.errorbar(sizes, means, yerr=stds, marker="o", capsize=3, label=variant)
            flat = plateau_point(list(points)) if metric != "final_loss" else None  # a loss falls, not rises
            if flat is not None and variant == "uniform":
                ax.axvline(flat, color="gray", linestyle=":", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("SFT pairs (compute: see the stage metrics)")
        ax.set_title(metric.replace("_", " "))
        ax.grid(True, alpha=0.3)
    axes.flat[0].legend()
    fig.suptitle("SFT score vs data size (mean ± std over seeds; dotted: where uniform SFT flattens)")
    fig.tight_layout()
    return fig
