"""Score generated chart programs against references with the ChartMimic-compatible metrics.

Function: ``evaluate(generated, references, pool)`` -> ``Evaluation`` (a per-item table and the
aggregate). References may be programs or already-computed introspection records (so a benchmark's
references are rendered once, not once per model).

CLI::

    python -m msrl.scoring.chartmimic --generated GEN_DIR --references REF_DIR [--out table.csv]
    python -m msrl.scoring.chartmimic --self-check REF_DIR     # every reference against itself

``GEN_DIR`` holds ``NAME.py`` (or a ``generated.jsonl`` of {"id", "code"}); ``REF_DIR`` holds
``NAME.py`` (the ChartMimic layout) or is a corpus ``DatasetDict`` folder (ids are row numbers of
``--split``, default ``eval``). Items missing from ``GEN_DIR`` count as failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from msrl.execution.sandbox import RenderPool, RenderResult
from msrl.paths import CHARTMIMIC_DIR
from msrl.scoring import metrics


@dataclass
class Evaluation:
    rows: list[dict]  # one per item: id, executed, status, error, text/layout/type/color, low_level
    summary: dict  # n, execution_rate, text/layout/type/color (x100), low_level

    def table(self):
        import pandas as pd

        return pd.DataFrame(self.rows)


def reference_records(references: list[str], pool: RenderPool) -> list[dict | None]:
    return [r.record if r.ok else None for r in pool.map(references, extract=False)]


def evaluate(
    generated: list[str],
    references: list,
    pool: RenderPool,
    ids: list[str] | None = None,
    generated_results: list[RenderResult] | None = None,
) -> Evaluation:
    """Score each generated program (or model reply) against its reference (program or record)."""
    if len(generated) != len(references):
        raise ValueError(f"{len(generated)} generated items for {len(references)} references")
    ids = ids or [str(i) for i in range(len(generated))]
    ref_records = list(references)
    programs = [i for i, r in enumerate(references) if isinstance(r, str)]
    if programs:
        for i, record in zip(programs, reference_records([references[i] for i in programs], pool)):
            ref_records[i] = record
    results = generated_results or pool.map(generated)
    rows = []
    for item_id, result, ref in zip(ids, results, ref_records):
        if ref is None:
            continue  # a reference that does not run cannot score anything; reported by self_check
        row = {"id": item_id, "executed": result.ok, "status": result.status, "error": result.error[:200]}
        row.update(metrics.low_level(result.record if result.ok else None, ref))
        rows.append(row)
    return Evaluation(rows=rows, summary=metrics.aggregate(rows))


def load_benchmark(directory: Path = CHARTMIMIC_DIR, limit: int | None = None) -> list[dict]:
    """ChartMimic direct-mimic items: [{id, type, code, image_path}] in a stable order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"benchmark folder {directory} not found")
    manifest_path = directory / "manifest.json"
    types = json.loads(manifest_path.read_text())["items"] if manifest_path.exists() else {}
    items = []
    for code_path in sorted(directory.glob("*.py")):
        name = code_path.stem
        items.append(
            {
                "id": name,
                "type": types.get(name, {}).get("type", name.rsplit("_", 1)[0]),
                "code": code_path.read_text(),
                "image_path": str(code_path.with_suffix(".png")),
            }
        )
    if limit is not None:
        items = spread(items, limit)
    return items


def spread(items: list[dict], limit: int) -> list[dict]:
    """``limit`` items spread evenly over the list (so every chart family is represented)."""
    if limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def self_check(directory: Path, pool: RenderPool) -> dict:
    """Each reference scored against a second, independent run of itself: how many run, why the
    others fail, and the scores (100 everywhere unless introspection is not deterministic)."""
    items = load_benchmark(directory)
    codes = [item["code"] for item in items]
    runs = pool.map(codes + codes, extract=False)
    first, second = runs[: len(items)], runs[len(items) :]
    failures = {item["id"]: r.error for item, r in zip(items, first) if not r.ok}
    rows = []
    for item, a, b in zip(items, first, second):
        if a.ok and b.ok:
            rows.append({"id": item["id"], "executed": True, **metrics.low_level(a.record, b.record)})
    summary = metrics.aggregate(rows)
    return {
        "n_items": len(items),
        "n_run": len(rows),
        "failures": failures,
        "self_scores": summary,
        "not_100": [r["id"] for r in rows if r["low_level"] < 100.0 - 1e-9],
    }


def _read_references(path: Path, split: str) -> dict[str, str]:
    if (path / "dataset_dict.json").exists():  # a corpus built by 01_data
        from datasets import load_from_disk

        codes = load_from_disk(str(path))[split]["code"]
        return {str(i): code for i, code in enumerate(codes)}
    return {item["id"]: item["code"] for item in load_benchmark(path)}


def _read_generated(directory: Path) -> dict[str, str]:
    jsonl = directory / "generated.jsonl"
    if jsonl.exists():
        return {str(rec["id"]): rec["code"] for rec in map(json.loads, jsonl.read_text().splitlines()) if rec}
    return {p.stem: p.read_text() for p in directory.glob("*.py")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m msrl.scoring.chartmimic", description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=Path)
    parser.add_argument("--references", type=Path, default=CHARTMIMIC_DIR)
    parser.add_argument("--split", default="eval", help="split of a DatasetDict --references")
    parser.add_argument("--self-check", type=Path, metavar="REF_DIR")
    parser.add_argument("--out", type=Path, help="write the per-item table as CSV")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    with RenderPool(workers=args.workers, timeout_s=args.timeout) as pool:
        if args.self_check:
            report = self_check(args.self_check, pool)
            print(json.dumps(report, indent=2))
            return 0
        if not args.generated:
            parser.error("--generated or --self-check is required")
        refs = _read_references(args.references, args.split)
        generated = _read_generated(args.generated)
        ids = sorted(refs)
        evaluation = evaluate([generated.get(i, "") for i in ids], [refs[i] for i in ids], pool, ids=ids)
    if args.out:
        evaluation.table().to_csv(args.out, index=False)
    print(evaluation.table().to_string(index=False, max_rows=40))
    print(json.dumps(evaluation.summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
