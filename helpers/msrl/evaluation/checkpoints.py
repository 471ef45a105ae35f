"""Evaluate a model: generate code for held-out charts and score it with the ChartMimic metrics.

Two item sets, each a list of {id, image, reference, type}: the corpus' held-out ``eval`` split
(references are the stored introspection records) and the public ChartMimic direct-mimic items
read from ``../shared`` (references rendered once per run in the sandbox and cached in
``RUN_DIR/cache``). ``evaluate_model`` returns the scores, the generated programs and their sandbox
results (for galleries).

The image-dependence control (not in the paper): on the sets named in ``preset.eval.control_sets``
each model is also scored on a derangement of the set's images (item i gets item i+1's image),
against item i's reference. Greedy decoding writes for item i+1's image the program it already wrote
for item i+1, so that program is reused, not generated again (``control_evaluation``).
``image_gain`` = low-level(own image) - low-level(deranged): about 0 for a model that ignores its
input, however high its scores.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from msrl.data.emit import PLAN_PREFIX
from msrl.execution.sandbox import RenderPool, RenderResult
from msrl.paths import CACHE_DIR, CHARTMIMIC_DIR, EVALUATIONS_DIR, MISSING_CHARTMIMIC, write_json
from msrl.scoring.chartmimic import Evaluation, evaluate, load_benchmark
from msrl.training.generate import generate_code
from msrl.training.grpo import run_name, seed_checkpoints
from msrl.training.prompts import chart_texts


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


def control_evaluation(name: str, items: list[dict], own: ModelEvaluation, pool: RenderPool) -> ModelEvaluation:
    """The model scored on ``deranged(items)`` without generating again: item i is shown item i+1's
    chart, and greedy decoding writes for that chart the program it wrote in ``own`` (the prompt is
    the same, so is the image). Item i's control program is therefore ``own``'s program i+1, scored
    against item i's reference. Checked on every model of a small series: the programs generated for
    the deranged images were these, 64 of 64 for each of 8 models. A sampling generator would need
    its own draw; evaluation decodes greedily. The programs' renders are reused too."""
    n = len(own.generated)
    shift = [(i + 1) % n for i in range(n)]
    moved, rendered = [own.generated[j] for j in shift], [own.results[j] for j in shift]
    return score(f"{name} · deranged images", deranged(items), moved, pool, results=rendered)


def evaluate_with_control(name: str, items: list[dict], generate, pool: RenderPool, judge=None) -> ModelEvaluation:
    """Score ``generate(images) -> programs`` (deterministic) on its own images and on deranged ones."""
    own = score(name, items, generate([i["image"] for i in items]), pool, judge)
    return with_image_control(own, control_evaluation(name, items, own, pool))


def eval_split_items(split, n: int) -> list[dict]:
    n = min(n, len(split))
    rows = split.select(range(n))
    return [
        {
            "id": f"eval-{i}",
            "image": row["image"],
            "reference": json.loads(row["record"]),
            "type": row["chart_type"],
            "chart_text": row.get("chart_text"),  # what OCR read when the corpus was built (or None)
        }
        for i, row in enumerate(rows)
    ]


def chartmimic_items(n: int, pool: RenderPool, run_dir: str | Path) -> list[dict]:
    """Up to ``n`` ChartMimic items whose reference runs here. Without the benchmark folder: [] and a
    warning, so that the series runs on the ``eval`` split alone and says so."""
    from PIL import Image

    if n <= 0:
        return []
    if not CHARTMIMIC_DIR.is_dir():
        warnings.warn(f"{MISSING_CHARTMIMIC}: {CHARTMIMIC_DIR} (set MSRL_CHARTMIMIC_DIR)", stacklevel=3)
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


def score(
    name: str, items: list[dict], generated: list[str], pool: RenderPool, judge=None, results=None
) -> ModelEvaluation:
    """Score generated programs for ``items``: low-level metrics, and the judge's score if given.
    ``results``: the programs' sandbox results where they were rendered already."""
    results = pool.map(generated) if results is None else results
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


def named_type_rate(items: list[dict], generated: list[str]) -> float:
    """Share (0..100) of programs whose first line, the corpus' plan comment ``# chart type: bar``,
    names the item's chart type. It needs no execution, so it scores models that cannot yet write a
    program that runs (the plateau's short runs). Meaningful for corpus items only: ChartMimic's
    type names differ from ours."""
    hits = 0
    for item, code in zip(items, generated):
        first = code.strip().splitlines()[0] if code.strip() else ""
        hits += first.startswith(PLAN_PREFIX) and first[len(PLAN_PREFIX) :].strip() == item["type"]
    return 100.0 * hits / max(1, len(items))


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
    stop_repeats: int = 0,
    repetition_penalty: float = 1.0,
    ocr_prompt: bool = False,
    penalty_spares_quotes: bool = False,
) -> ModelEvaluation:
    images = [i["image"] for i in items]
    texts = chart_texts(images, [i.get("chart_text") for i in items]) if ocr_prompt else None
    generated = generate_code(
        model,
        processor,
        images,
        instruction,
        max_new_tokens,
        batch_size=batch_size,
        progress=progress,
        stop_repeats=stop_repeats,
        repetition_penalty=repetition_penalty,
        chart_texts=texts,
        penalty_spares_quotes=penalty_spares_quotes,
    )
    return score(name, items, generated, pool, judge)


def decoding(preset) -> dict:
    """``evaluate_model``'s prompt and decoding arguments from the preset: every model the series
    scores (stages 02-07 and the plateau study's points) is decoded the same way."""
    return {
        "instruction": preset.instruction,
        "max_new_tokens": preset.eval.max_new_tokens,
        "batch_size": preset.eval.batch_size,
        "stop_repeats": preset.eval.stop_repeats,
        "repetition_penalty": preset.eval.repetition_penalty,
        "penalty_spares_quotes": preset.eval.penalty_spares_quotes,
        "ocr_prompt": preset.model.ocr_prompt,
    }


def item_sets(preset, corpus, pool: RenderPool, run_dir) -> dict[str, list[dict]]:
    """The two evaluation sets every stage uses: the held-out ``eval`` split and ChartMimic items."""
    sets = {
        "eval split": eval_split_items(corpus["eval"], preset.eval.n_eval),
        "ChartMimic": chartmimic_items(preset.eval.n_chartmimic, pool, run_dir),
    }
    return {name: items for name, items in sets.items() if items}


def evaluation_file(model_name: str, set_name: str) -> str:
    """The file a model's saved programs for a set are kept in (under its stage's evaluations/)."""
    return f"{model_name}__{set_name}".replace(" ", "_").replace("/", "-") + ".json"


def evaluate_checkpoint(
    model_name: str, checkpoint, sets: dict[str, list[dict]], pool: RenderPool, preset, out_dir, judge=None
) -> dict[str, ModelEvaluation]:
    """Generate and score one checkpoint on every set (and, on ``preset.eval.control_sets``, on the
    set's deranged images: ``control_evaluation``); the generations are kept in ``out_dir/evaluations``
    and a later call (or stage 07) re-scores them instead of generating."""
    from msrl.training.model import load_model_and_processor

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
        evaluation = evaluate_model(name, model, processor, items, pool, judge=set_judge, **decoding(preset))
        save_evaluation(evaluation, path)
        return evaluation

    out = {}
    for set_name, items in sets.items():
        out[set_name] = evaluated(f"{model_name} · {set_name}", items, evaluation_file(model_name, set_name), judge)
        if set_name in preset.eval.control_sets and len(items) >= 2:
            with_image_control(
                out[set_name], control_evaluation(f"{model_name} · {set_name}", items, out[set_name], pool)
            )
    return out


def save_evaluation(evaluation: ModelEvaluation, path) -> None:
    record = {
        "name": evaluation.name,
        "ids": [i["id"] for i in evaluation.items],
        "generated": evaluation.generated,
        "summary": evaluation.summary,
    }
    write_json(path, record)  # atomic: a kill mid-write leaves the old file or none


def load_evaluation(path, items: list[dict], pool: RenderPool, judge=None) -> ModelEvaluation | None:
    """Re-score saved generations (re-rendered in the sandbox) for ``items``; None when some of the
    items were not generated then (the set grew), so that the caller generates again."""
    try:
        saved = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # unreadable (written before writes were atomic): generate again
    generated = dict(zip(saved["ids"], saved["generated"]))
    if any(item["id"] not in generated for item in items):
        return None
    return score(saved["name"], items, [generated[item["id"]] for item in items], pool, judge)


def evaluate_runs(stage_name: str, out_dir: str | Path, seeds, sets: dict, pool, preset, judge=None) -> dict:
    """{seed: {set: ModelEvaluation}} of a stage's runs (in ``out_dir``), under ``run_name``; their
    generations are saved in (and re-scored from) ``out_dir``."""
    return {
        seed: evaluate_checkpoint(run_name(stage_name, seed), checkpoint, sets, pool, preset, out_dir, judge)
        for seed, checkpoint in seed_checkpoints(out_dir, seeds).items()
    }
