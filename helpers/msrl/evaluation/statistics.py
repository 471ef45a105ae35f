"""Tables and statistics over model evaluations: per-seed rows, mean +- std over seeds with item
bootstrap intervals, paired per-item differences between models, per-type breakdowns, failure kinds.

Nothing here generates or executes: it reads ``ModelEvaluation`` objects (msrl.evaluation.checkpoints).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: statistics read evaluations, never make them
    from msrl.evaluation.checkpoints import ModelEvaluation


def seed_rows(evaluations: dict) -> list[dict]:
    """{(model, seed): {set: ModelEvaluation}} -> flat rows for a table (one per model, seed, set)."""
    rows = []
    for (model_name, seed), sets in evaluations.items():
        for set_name, evaluation in sets.items():
            rows.append({"model": model_name, "seed": seed, "set": set_name, **evaluation.summary})
    return rows


def first_seed(evaluations: dict, set_name: str) -> dict:
    """{model: ModelEvaluation} of each model's first seed on one set (explorer, galleries)."""
    out = {}
    for (model_name, _seed), sets in evaluations.items():
        if model_name not in out and set_name in sets:
            out[model_name] = sets[set_name]
    return out


SEED_METRICS = ("execution_rate", "low_level", "judge", "text", "layout", "type", "color", "distinct", "image_gain")


def seed_table(evaluations: dict) -> list[dict]:
    """{(model, seed): {set: ModelEvaluation}} -> one row per (model, set): "mean ± std [low, high]"
    strings (std over seeds, 95 % bootstrap interval over items pooled over seeds) and the numeric
    means as ``<metric>_mean`` (for notes and plots)."""
    import numpy as np

    groups: dict[tuple[str, str], list] = {}
    for (model, _seed), sets in evaluations.items():
        for set_name, evaluation in sets.items():
            groups.setdefault((model, set_name), []).append(evaluation)
    rows = []
    for (model, set_name), group in groups.items():
        row = {"model": model, "set": set_name, "seeds": len(group), "n_items": len(group[0].evaluation.rows)}
        for metric in SEED_METRICS:
            if metric not in group[0].summary:
                continue
            per_seed = [e.summary[metric] for e in group]
            values = [v for e in group for v in item_values(e, metric)]
            mean, std = float(np.mean(per_seed)), float(np.std(per_seed))
            row[f"{metric}_mean"] = mean
            row[metric] = f"{mean:.1f} ± {std:.1f}"
            if values:  # "distinct" is a property of the whole set, with no per-item value
                row[metric] += " [{:.1f}, {:.1f}]".format(*bootstrap_interval(values))
        rows.append(row)
    return rows


def paired_difference(before: dict, after: dict, metric: str) -> dict | None:
    """after - before on the same items: ``before``/``after`` map seed -> ModelEvaluation of one set.
    Each seed of ``after`` is paired with the same seed of ``before`` (or its first seed: SFT has
    one); per-item differences are pooled over the pairs, with a 95 % bootstrap interval over them.
    None when the metric has no per-item values."""
    import numpy as np

    differences = []
    for seed, later in after.items():
        earlier = before.get(seed, next(iter(before.values())))
        old = dict(zip((r["id"] for r in earlier.evaluation.rows), item_values(earlier, metric)))
        new = dict(zip((r["id"] for r in later.evaluation.rows), item_values(later, metric)))
        differences += [new[i] - old[i] for i in new if i in old]
    if not differences:
        return None
    low, high = bootstrap_interval(differences)
    return {
        "metric": metric,
        "mean": float(np.mean(differences)),
        "low": low,
        "high": high,
        "n": len(differences),
        "pairs": len(after),
    }


def seed_frame(rows: list[dict]):
    """``seed_table`` rows as a DataFrame for display and saving (the string columns only)."""
    import pandas as pd

    shown = pd.DataFrame(rows)
    return shown[[c for c in shown.columns if not c.endswith("_mean")]]


def summary_table(evaluations: list[ModelEvaluation]):
    import pandas as pd

    return pd.DataFrame(
        [
            {"model": e.name, **{k: round(v, 2) if isinstance(v, float) else v for k, v in e.summary.items()}}
            for e in evaluations
        ]
    )


def bootstrap_interval(
    values: list[float], n_resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over items."""
    import numpy as np

    if not values:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    data = np.asarray(values, dtype=float)
    means = data[rng.integers(0, len(data), size=(n_resamples, len(data)))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(low), float(high)


def summary_scale(metric: str) -> float:
    """Factor from an item row's value to the summary's 0..100 scale: rows hold F1s in 0..1, and the
    low-level and judge scores already in 0..100."""
    return 1.0 if metric in ("low_level", "judge", "image_gain") else 100.0


def item_values(evaluation: ModelEvaluation, metric: str) -> list[float]:
    """Per-item values on the summary's scale (execution and F1s x 100)."""
    if metric == "execution_rate":
        return [100.0 * bool(r["executed"]) for r in evaluation.evaluation.rows]
    if metric == "image_gain":  # per item: own image minus the deranged image, same reference
        if getattr(evaluation, "control", None) is None:
            return []
        return [
            own["low_level"] - other["low_level"]
            for own, other in zip(evaluation.evaluation.rows, evaluation.control.evaluation.rows)
        ]
    return [summary_scale(metric) * float(r[metric]) for r in evaluation.evaluation.rows if metric in r]


def by_chart_type(evaluations: dict[str, ModelEvaluation], metric: str = "execution_rate"):
    """A table: chart type x model, the metric's mean over that type's items (failure analysis)."""
    import pandas as pd

    columns = {}
    for name, evaluation in evaluations.items():
        types: dict[str, list[float]] = {}
        for row, value in zip(evaluation.evaluation.rows, item_values(evaluation, metric)):
            types.setdefault(row["chart_type"], []).append(value)
        columns[name] = {t: sum(v) / len(v) for t, v in types.items()}
    return pd.DataFrame(columns).sort_index().round(1)


def failure_kinds(evaluation: ModelEvaluation) -> dict[str, int]:
    """Why programs failed: sandbox status, and the exception name for errors."""
    from collections import Counter

    kinds = Counter()
    for row in evaluation.evaluation.rows:
        if row["executed"]:
            continue
        error = row.get("error") or ""
        name = error.split(":")[0].strip() if row["status"] == "error" else ""
        kinds[f"{row['status']}{': ' + name if name else ''}"] += 1
    return dict(kinds.most_common())
