"""The SFT plateau study: the same SFT protocol at growing data sizes, and a token-weighted variant.

Protocol: for each size on the preset's geometric grid, each seed, and each loss (uniform, and
token-weighted if enabled), train a fresh model from the same initial weights (stage 02's
vision warm-up, shared like a pretrained vision tower) over a seeded random subset of the ``sft``
split, then score it on the same held-out ``eval`` items. Compute is held either **per sample**
(one epoch at every size, as the paper's SFT runs: a larger size means more steps) or **per run**
(``fixed_steps`` at every size: smaller sizes repeat their data). Per sample measures what more
data buys under the paper's recipe, but at CPU scale its small sizes get a few dozen steps and
every model scores 0 (our earlier small runs: 4 to 50 steps, all zero). Per run holds the compute
that makes a model write code and asks what more *distinct* data buys.

**One pass** (``one_pass``, the small preset): one run per (seed, variant) over the whole ``sft``
split in a seeded order, on stage 02's recipe and schedule, saved when it has seen each size's
pairs once (size / batch steps) and scored there. Compute is per sample, as in the paper, and a
point costs one evaluation instead of one training run; stage 02's own run is the first seed's
uniform curve. Unlike the paper's runs, a point's learning rate has not finished its decay (it is
on the full run's schedule), so a curve still rising at the largest size may partly be the
schedule. Fresh runs per size scored 0 everywhere at this scale (README, Results).

With batches grouped by length (``SFTPreset.group_by_length``, transformers' LengthGroupedSampler),
the order inside an epoch is a row of blocks of up to 50 steps, each sorted from the longest
programs to the shortest: the training loss rises and falls with a 50-step period. A snapshot
taken mid-block has just trained on the longest programs, one taken at a block's end on the
shortest. Points are therefore taken at block ends only (``snapshot_steps`` moves a size back to
the last one it has passed), so that every point is at the same place in that cycle. The 1,800-pair
point of the earlier grid was the only one mid-block, and it scored 0 in every curve of the three
series that had it (README, Results).

Each finished run is appended to ``runs.jsonl``, so an interrupted study resumes at the next run.
``plateau_point`` names a knee only where the curve first rises beyond the seeds' spread and then
stays level (every later point within a quarter of that rise). A curve that is flat everywhere
(e.g. zero), still rising, or falling after its rise has no knee.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import shutil
from pathlib import Path

from msrl.paths import read_json

RUNS_FILE = "runs.jsonl"
VARIANTS = ("uniform", "token_weighted")


def run_steps(plateau, size: int) -> int:
    """Optimizer steps of one run: ``fixed_steps`` when set (compute held per run), else one pass
    over ``size`` pairs at ``steps_per_sample`` (compute held per sample)."""
    if plateau.fixed_steps > 0:
        return plateau.fixed_steps
    return max(1, math.ceil(size * plateau.steps_per_sample))


def length_block_steps(sft, n_pairs: int) -> int:
    """Steps per block of the length-grouped sampler on an ``n_pairs`` split (1: batches in random
    order). transformers' ``get_length_grouped_indices`` sorts blocks of ``min(n // (4 B), 50)``
    batches of B = batch x accumulation pairs (one process)."""
    if not sft.group_by_length:
        return 1
    return max(1, min(n_pairs // (4 * sft.batch_size * sft.grad_accum), 50))


def snapshot_steps(preset, n_pairs: int) -> dict[int, int]:
    """{pairs seen: the step of a one-pass run's snapshot}, one for each preset size within one
    epoch of the ``n_pairs`` split and within the SFT run's steps (one process: pairs per step =
    batch x accumulation). A size is moved back to the last end of a length-sorted block it has
    passed (``length_block_steps``; the epoch's last step ends one too), and the key says how many
    pairs were seen there. Empty unless the preset uses the one-pass protocol."""
    if not preset.plateau.one_pass:
        return {}
    per_step = preset.sft.batch_size * preset.sft.grad_accum
    block, epoch_end = length_block_steps(preset.sft, n_pairs), math.ceil(n_pairs / per_step)
    last = preset.sft.max_steps if preset.sft.max_steps > 0 else None
    points = {}
    for size in (s for s in preset.plateau.sizes if s <= n_pairs):
        if size == n_pairs:  # the epoch's last step ends a block, its last batch partial or not
            step, seen = epoch_end, n_pairs
        else:
            step = size // per_step - (size // per_step) % block
            seen = step * per_step
        if step >= 1 and (last is None or step <= last):
            points[seen] = step
    return points


def compute_protocol(plateau) -> str:
    if plateau.one_pass:
        return "per sample, one pass: each point is a run after it has seen that many pairs once (02's schedule)"
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
    preset, base: str, corpus, out_dir: str | Path, pool, eval_items: list[dict], progress=print, sft_dir=None
) -> list[dict]:
    """Every (size, seed, variant) point; returns the rows (one per point) including earlier ones.
    ``sft_dir``: stage 02's folder, whose snapshots are the one-pass protocol's first uniform seed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = completed_runs(out_dir)
    done = {(r["size"], r["seed"], r["variant"]) for r in rows}
    variants = VARIANTS if preset.plateau.token_weighting else VARIANTS[:1]
    weighted_seeds = preset.plateau.token_weighted_seeds or preset.plateau.seeds
    runs = [(seed, v) for seed in preset.plateau.seeds for v in variants if v == "uniform" or seed in weighted_seeds]
    # the token weights cost a pass over the corpus: computed once, and only if a token-weighted run trains
    weights = functools.cache(lambda: _token_weights(preset, base, corpus))
    study = _one_pass if preset.plateau.one_pass else _fresh_runs
    for row in study(preset, base, corpus, out_dir, runs, done, weights, sft_dir):
        row.update(_score(preset, row.pop("checkpoint"), row, pool, eval_items))
        with open(out_dir / RUNS_FILE, "a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(row)
        progress(
            f"size {row['size']} seed {row['seed']} {row['variant']}: execution {row['execution_rate']:.1f}% "
            f"low-level {row['low_level']:.1f} (step {row['steps']})"
        )
    return rows


def _token_weights(preset, base, corpus):
    from transformers import AutoTokenizer

    from msrl.training.sft import content_token_weights

    sample = corpus["sft"]["code"][: preset.plateau.weight_sample]
    return content_token_weights(AutoTokenizer.from_pretrained(base), sample, preset.plateau.content_weight)


def _fresh_runs(preset, base, corpus, out_dir, runs, done, weights, sft_dir):
    """Compute per sample or per run: a fresh model per size. Yields a row per finished run; its
    weights are deleted once it is scored (the rows are the result)."""
    from msrl.training.sft import train_sft

    for size in [s for s in preset.plateau.sizes if s <= len(corpus["sft"])]:
        for seed, variant in runs:
            if (size, seed, variant) in done:
                continue
            steps = run_steps(preset.plateau, size)
            # the base already had its warm-up (02's, shared by every run): SFT only
            sft = dataclasses.replace(
                preset.sft, epochs=1, max_steps=steps, save_steps=10**9, logging_steps=max(1, steps // 10),
                vision_warmup_steps=0,
            )  # fmt: skip
            run_dir = out_dir / f"run-{size}-{seed}-{variant}"
            shutil.rmtree(run_dir, ignore_errors=True)  # a run interrupted mid-way starts over
            subset = corpus["sft"].shuffle(seed=seed).select(range(size))
            token_weights = weights() if variant == "token_weighted" else None
            run = train_sft(dataclasses.replace(preset, seed=seed), base, subset, run_dir, token_weights, sft=sft)
            yield {**_run_fields(size, seed, variant, run), "checkpoint": run_dir / "checkpoint"}
            shutil.rmtree(run_dir, ignore_errors=True)


def _one_pass(preset, base, corpus, out_dir, runs, done, weights, sft_dir):
    """One run per (seed, variant) on 02's recipe, stopped at the largest size's step; yields a row
    per snapshot. Stage 02's run is reused where it is the same run (its seed, uniform loss)."""
    from msrl.training.sft import DONE_FILE, snapshot_path, train_sft

    if preset.sft.use_lora:
        raise ValueError("the one-pass plateau protocol needs full fine-tuning (snapshots are whole models)")
    points = snapshot_steps(preset, len(corpus["sft"]))
    for seed, variant in runs:
        todo = [size for size in points if (size, seed, variant) not in done]
        if not todo:
            continue
        reuse = sft_dir is not None and seed == preset.seed and variant == "uniform"
        run_dir = Path(sft_dir) if reuse else out_dir / f"run-{seed}-{variant}"
        if reuse:
            missing = [s for s in todo if not (snapshot_path(run_dir, points[s]) / "config.json").exists()]
            if missing:
                raise FileNotFoundError(f"stage 02 saved no snapshot for sizes {missing}: rerun 02 with this preset")
            run = read_json(run_dir / DONE_FILE)
        else:  # resumes from its checkpoints if interrupted; 02's warm-up is the base, so SFT only
            run = train_sft(
                dataclasses.replace(preset, seed=seed),
                base,
                corpus["sft"],
                run_dir,
                token_weights=weights() if variant == "token_weighted" else None,
                sft=dataclasses.replace(preset.sft, vision_warmup_steps=0),
                snapshot_steps=tuple(points.values()),
                stop_at=max(points.values()),
            )
        for size in todo:
            row = _run_fields(size, seed, variant, run, at_step=points[size])
            yield {**row, "checkpoint": snapshot_path(run_dir, points[size])}
        if not reuse:
            shutil.rmtree(run_dir, ignore_errors=True)


def _run_fields(size: int, seed: int, variant: str, run: dict, at_step: int | None = None) -> dict:
    """A row's training fields; ``at_step``: the run's loss where a snapshot was taken."""
    steps = at_step or run["global_step"]
    losses = [h for h in run["log_history"] if "loss" in h and h["step"] <= steps]
    return {
        "size": size,
        "seed": seed,
        "variant": variant,
        "steps": steps,
        "train_seconds": round(run["seconds"] * steps / max(1, run["global_step"]), 1),
        "final_loss": losses[-1]["loss"] if losses else None,
    }


def _score(preset, checkpoint: Path, row: dict, pool, eval_items: list[dict]) -> dict:
    from msrl.evaluation.checkpoints import decoding, evaluate_model, named_type_rate
    from msrl.training.model import load_model_and_processor

    model, processor = load_model_and_processor(checkpoint, preset.model)
    name = f"{row['size']}/{row['seed']}/{row['variant']}"
    scored = evaluate_model(name, model, processor, eval_items, pool, **decoding(preset))
    return {**scored.summary, "type_named": named_type_rate(eval_items, scored.generated)}


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


def plateau_point(
    points: list[tuple[int, float, float]], min_gain: float = 1.0, level_share: float = 0.25
) -> int | None:
    """The knee: the first size that the curve rose to and after which it stays level. With
    ``(size, mean, std over seeds)`` points and ``tolerance(a, b) = max(min_gain x doublings from a
    to b, the seeds' spread sqrt(std_a^2 + std_b^2))``, a size k is the knee when

    - it rose: some earlier point lies below it by at least ``tolerance`` (a rise inside the seeds'
      spread is not one);
    - it did not fall on the way: no earlier step goes down by ``tolerance`` or more (then the
      points measure something other than the data size, e.g. where a point sat in the sampler's
      length cycle: the small one-pass runs scored 0 at 1,800 pairs, mid-block, in every curve of
      three series; ``snapshot_steps``);
    - it stays level: every later point is within ``max(min_gain x doublings, level_share x that
      rise)`` of it, up or down. A fall after the rise is not a plateau (the first rule read it as
      one: a one-seed curve at 72 % and then 31 % was named a knee).

    None ("no plateau within these sizes") when the curve never rises beyond its spread (e.g. zero
    everywhere), still rises at its largest size, falls before it rises, or falls after it."""

    def tolerance(a, b):
        (size_a, _, std_a), (size_b, _, std_b) = a, b
        return max(min_gain * math.log2(size_b / size_a), math.hypot(std_a, std_b))

    def fell(a, b):
        return a[1] - b[1] >= tolerance(a, b)

    for k in range(1, len(points) - 1):
        knee = points[k]
        rise = max(knee[1] - p[1] for p in points[:k])
        rose = any(knee[1] - p[1] >= tolerance(p, knee) for p in points[:k])
        steady = not any(fell(a, b) for a, b in zip(points[:k], points[1 : k + 1]))
        level = all(
            abs(p[1] - knee[1]) < max(min_gain * math.log2(p[0] / knee[0]), level_share * rise) for p in points[k + 1 :]
        )
        if rose and steady and level:
            return knee[0]
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
