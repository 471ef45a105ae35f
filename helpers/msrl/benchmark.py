"""Evaluate a model: generate code for held-out charts and score it with the ChartMimic metrics.

Two item sets, each a list of {id, image, reference, type}: the corpus' held-out ``eval`` split
(references are the stored introspection records) and the public ChartMimic direct-mimic items
read from ``../shared`` (references rendered once per run in the sandbox and cached in
``RUN_DIR/cache``). ``evaluate_model`` returns the scores, the generated programs and their sandbox
results (for galleries).
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

    @property
    def summary(self) -> dict:
        return self.evaluation.summary


def eval_split_items(split, n: int) -> list[dict]:
    n = min(n, len(split))
    rows = split.select(range(n))
    return [{"id": f"eval-{i}", "image": row["image"], "reference": json.loads(row["record"]),
             "type": row["chart_type"]} for i, row in enumerate(rows)]


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
    return [{"id": item["id"], "image": Image.open(item["image_path"]).convert("RGB"),
             "reference": records[item["id"]], "type": item["type"]}
            for item in items if records.get(item["id"]) is not None]


def evaluate_model(name: str, model, processor, items: list[dict], pool: RenderPool, instruction: str,
                   max_new_tokens: int, batch_size: int, progress=None) -> ModelEvaluation:
    generated = generate_code(model, processor, [i["image"] for i in items], instruction, max_new_tokens,
                              batch_size=batch_size, progress=progress)
    results = pool.map(generated)
    evaluation = evaluate(generated, [i["reference"] for i in items], pool, ids=[i["id"] for i in items],
                          generated_results=results)
    for row, item in zip(evaluation.rows, items):
        row["type"] = item["type"]
    return ModelEvaluation(name, items, generated, results, evaluation)


def summary_table(evaluations: list[ModelEvaluation]):
    import pandas as pd

    return pd.DataFrame([{"model": e.name, **{k: round(v, 2) if isinstance(v, float) else v
                                               for k, v in e.summary.items()}} for e in evaluations])
