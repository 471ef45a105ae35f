"""Evaluate a model: generate code for held-out charts and score it with the ChartMimic metrics.

Two item sets, each a list of {id, image, reference, type}: the corpus' held-out ``eval`` split
(references are the stored introspection records) and the public ChartMimic direct-mimic items
read from ``../shared`` (references rendered once per run in the sandbox and cached in
``RUN_DIR/cache``). ``evaluate_model`` returns the scores, the generated programs and their sandbox
results (for galleries).

The image-dependence control (not in the paper): on the sets named in ``preset.eval.control_sets``
each model is also asked for the same items with a derangement of the set's images (item i gets
item i+1's image) and scored against item i's reference. ``image_gain`` = low-level(own image) -
low-level(deranged): about 0 for a model that ignores its input, however high its scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .evaluate import Evaluation, evaluate, load_benchmark
from .generate import generate_code
from .layout import CHARTMIMIC_DIR
from .sandbox import RenderPool, RenderResult

CACHE_DIR = "cache"


@dataclass
class ModelEvaluation:
    name: str
    items: list[dict]
    generated: list[str]
    results: list[RenderResult]
    evaluation: Evaluation
    control: ModelEvaluation | None = None  # the same items with deranged images (image_gain)

    @property
    def summary(self) -> dict:
        return self.evaluation.summary


def deranged(items: list[dict]) -> list[dict]:
    """The items with each one's image replaced by the next item's (a derangement when n >= 2)."""
    return [{**item, "image": items[(i + 1) % len(items)]["image"]} for i, item in enumerate(items)]


def with_image_control(evaluation: ModelEvaluation, control: ModelEvaluation) -> ModelEvaluation:
    """Attach the deranged-image evaluation and its summary figures to ``evaluation``."""
    evaluation.control = control
    evaluation.summary["low_level_deranged"] = control.summary["low_level"]
    evaluation.summary["image_gain"] = evaluation.summary["low_level"] - control.summary["low_level"]
    return evaluation


def evaluate_with_control(name: str, items: list[dict], generate, pool: RenderPool, judge=None) -> ModelEvaluation:
    """Score ``generate(images) -> programs`` on its own images and on deranged ones."""
    own = score(name, items, generate([i["image"] for i in items]), pool, judge)
    control = score(f"{name} · deranged images", items, generate([i["image"] for i in deranged(items)]), pool)
    return with_image_control(own, control)


def eval_split_items(split, n: int) -> list[dict]:
    n = min(n, len(split))
    rows = split.select(range(n))
    return [
        {"id": f"eval-{i}", "image": row["image"], "reference": json.loads(row["record"]), "type": row["chart_type"]}
        for i, row in enumerate(rows)
    ]


def chartmimic_items(n: int, pool: RenderPool, run_dir: str | Path) -> list[dict]:
    """Up to ``n`` ChartMimic items whose reference runs here ([] when ../shared is absent)."""
    from PIL import Image

    if n <= 0 or not CHARTMIMIC_DIR.is_dir():
        return []
    cache = Path(run_dir) / CACHE_DIR / "chartmimic_records.json"
    records = json.loads(cache.read_text()) if cache.exists() else {}
    items = load_benchmark(CHARTMIMIC_DIR, limit=n)
    missing = [item for item in items if item["id"] not in records]
    if missing:
        for item, result in zip(missing, pool.map([i["code"] for i in missing], extract=False)):
            records[item["id"]] = result.record if result.ok else None
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(records))
    return [
        {
            "id": item["id"],
            "image": Image.open(item["image_path"]).convert("RGB"),
            "reference": records[item["id"]],
            "type": item["type"],
        }
        for item in items
        if records.get(item["id"]) is not None
    ]


def score(name: str, items: list[dict], generated: list[str], pool: RenderPool, judge=None) -> ModelEvaluation:
    """Score generated programs for ``items``: low-level metrics, and the judge's score if given."""
    results = pool.map(generated)
    evaluation = evaluate(
        generated, [i["reference"] for i in items], pool, ids=[i["id"] for i in items], generated_results=results
    )
    by_id = {item["id"]: (item, result) for item, result in zip(items, results)}
    for row in evaluation.rows:
        row["chart_type"] = by_id[row["id"]][0]["type"]
    # Share of distinct programs: a policy that writes one program whatever the chart (mode collapse
    # under RL) can still execute everywhere; this makes that visible next to the execution rate.
    evaluation.summary["distinct"] = 100.0 * len({g.strip() for g in generated}) / max(1, len(generated))
    if judge is not None:
        pairs = [by_id[row["id"]] for row in evaluation.rows]
        scores = judge.score_many(
            [item["image"] for item, _ in pairs], [result.png if result.ok else None for _, result in pairs]
        )
        for row, judged in zip(evaluation.rows, scores):
            row["judge"] = judged.total
            row["judge_backend"] = judged.backend + (" (fallback)" if judged.fallback else "")
        evaluation.summary["judge"] = sum(r["judge"] for r in evaluation.rows) / max(1, len(evaluation.rows))
    return ModelEvaluation(name, items, generated, results, evaluation)


def evaluate_model(
    name: str,
    model,
    processor,
    items: list[dict],
    pool: RenderPool,
    instruction: str,
    max_new_tokens: int,
    batch_size: int,
    progress=None,
    judge=None,
) -> ModelEvaluation:
    generated = generate_code(
        model,
        processor,
        [i["image"] for i in items],
        instruction,
        max_new_tokens,
        batch_size=batch_size,
        progress=progress,
    )
    return score(name, items, generated, pool, judge)


def item_sets(preset, corpus, pool: RenderPool, run_dir) -> dict[str, list[dict]]:
    """The two evaluation sets every stage uses: the held-out ``eval`` split and ChartMimic items."""
    sets = {
        "eval split": eval_split_items(corpus["eval"], preset.eval.n_eval),
        "ChartMimic": chartmimic_items(preset.eval.n_chartmimic, pool, run_dir),
    }
    return {name: items for name, items in sets.items() if items}


EVALUATIONS_DIR = "evaluations"


def _file_name(model_name: str, set_name: str) -> str:
    return f"{model_name}__{set_name}".replace(" ", "_").replace("/", "-") + ".json"


def evaluate_checkpoint(
    model_name: str, checkpoint, sets: dict[str, list[dict]], pool: RenderPool, preset, out_dir, judge=None
) -> dict[str, ModelEvaluation]:
    """Generate and score one checkpoint on every set (and, on ``preset.eval.control_sets``, on the
    set's deranged images); the generations are kept in ``out_dir/evaluations`` and a later call (or
    stage 07) re-scores them instead of generating."""
    from .model import load_model_and_processor

    folder = Path(out_dir) / EVALUATIONS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    loaded: list = []

    def model_and_processor():
        if not loaded:  # loaded once, only when something has to be generated
            loaded.extend(load_model_and_processor(checkpoint, preset.model))
        return loaded

    def evaluated(name: str, items: list[dict], file_name: str, set_judge):
        path = folder / file_name
        if path.exists():
            evaluation = load_evaluation(path, items, pool, set_judge)
            if evaluation is not None:
                return evaluation
        model, processor = model_and_processor()
        evaluation = evaluate_model(
            name,
            model,
            processor,
            items,
            pool,
            preset.instruction,
            preset.eval.max_new_tokens,
            preset.eval.batch_size,
            judge=set_judge,
        )
        save_evaluation(evaluation, path)
        return evaluation

    out = {}
    for set_name, items in sets.items():
        out[set_name] = evaluated(f"{model_name} · {set_name}", items, _file_name(model_name, set_name), judge)
        if set_name in preset.eval.control_sets and len(items) >= 2:
            control = evaluated(
                f"{model_name} · {set_name} · deranged images",
                deranged(items),
                _file_name(model_name, set_name + " deranged"),
                None,
            )
            with_image_control(out[set_name], control)
    return out


def save_evaluation(evaluation: ModelEvaluation, path) -> None:
    Path(path).write_text(
        json.dumps(
            {
                "name": evaluation.name,
                "ids": [i["id"] for i in evaluation.items],
                "generated": evaluation.generated,
                "summary": evaluation.summary,
            }
        )
    )


def load_evaluation(path, items: list[dict], pool: RenderPool, judge=None) -> ModelEvaluation | None:
    """Re-score saved generations (re-rendered in the sandbox) for ``items``; None when some of the
    items were not generated then (the set grew), so that the caller generates again."""
    saved = json.loads(Path(path).read_text())
    generated = dict(zip(saved["ids"], saved["generated"]))
    if any(item["id"] not in generated for item in items):
        return None
    return score(saved["name"], items, [generated[item["id"]] for item in items], pool, judge)


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
