"""Visual judges: score a rendered candidate chart against the reference chart image.

One protocol, several backends. A judge's ``score_many(references, candidates)`` takes reference
images and candidate PNGs (``None`` where the candidate's program did not draw a figure) and
returns one ``JudgeScore`` per pair: a total in 0..100 and the six dimensions of ChartMimic's
high-level (GPT-4o) evaluation with its weights - chart type 20, layout 10, text 20, data 20,
style 20, clarity 10 points.

- ``EmbeddedJudge`` (msrl.scoring.judges.embedded): deterministic image heuristics on CPU, the default
  for the smoke and small presets.
- ``MLLMJudge`` (msrl.scoring.judges.mllm): a multimodal LLM behind an OpenAI-compatible chat API
  (``vllm serve Qwen/Qwen2.5-VL-72B-Instruct``, the paper's evaluator; or a hosted model), with a
  cache, retries, bounded concurrency and a recorded fallback to the embedded judge.

The TRL reward ``visual`` (msrl.scoring.rewards, total / 100) scores completions with the judge it is built with;
the reference image is the RL dataset's ``image`` column.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

# ChartMimic's high-level dimensions and their points (of 100).
DIMENSIONS = {"chart_type": 20, "layout": 10, "text": 20, "data": 20, "style": 20, "clarity": 10}


@dataclass
class JudgeScore:
    total: float  # 0..100
    parts: dict[str, float | None]  # dimension -> 0..1 (None: not judged, e.g. no OCR)
    backend: str
    fallback: str | None = None  # why another backend answered instead (recorded)
    notes: list[str] = field(default_factory=list)


def weighted_total(parts: dict[str, float | None]) -> float:
    """0..100 from dimension scores in 0..1, renormalised over the dimensions that were judged."""
    present = {d: v for d, v in parts.items() if v is not None}
    if not present:
        return 0.0
    points = sum(DIMENSIONS[d] for d in present)
    return 100.0 * sum(DIMENSIONS[d] * v for d, v in present.items()) / points


def failed_score(backend: str) -> JudgeScore:
    """A candidate that drew nothing scores 0 on every dimension."""
    return JudgeScore(0.0, {d: 0.0 for d in DIMENSIONS}, backend, notes=["candidate did not render"])


def to_png(image) -> bytes:
    """PNG bytes of a PIL image, or the bytes unchanged."""
    if isinstance(image, (bytes, bytearray)):
        return bytes(image)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def make_judge(judge_preset, cache_path=None):
    """The judge a preset names (``backend`` embedded | openai); ``cache_path``: a JSON-lines file of
    its scores, which the stages of a run share (``Stage.shared``)."""
    from msrl.scoring.judges.embedded import EmbeddedJudge

    if judge_preset.backend == "embedded":
        return EmbeddedJudge(cache_path=cache_path)
    if judge_preset.backend == "openai":
        from msrl.scoring.judges.mllm import MLLMJudge

        return MLLMJudge(
            judge_preset.url,
            judge_preset.model,
            timeout_s=judge_preset.timeout_s,
            retries=judge_preset.retries,
            concurrency=judge_preset.concurrency,
            cache_path=cache_path,
            fallback=EmbeddedJudge(),
        )
    raise ValueError(f"unknown judge backend {judge_preset.backend!r}; use 'embedded' or 'openai'")


def agreement(evaluations, parts=("low_level", "text", "layout", "type", "color")) -> dict:
    """Spearman rank correlation between the judge's score and each low-level metric over all items
    of ``evaluations`` (benchmark.ModelEvaluation with judge scores), on all items and on the items
    that ran (failed items score 0 on both sides, which inflates the first figure)."""
    from scipy.stats import spearmanr

    rows = [r for e in evaluations for r in e.evaluation.rows if "judge" in r]
    out = {}
    for subset, chosen in (("all", rows), ("executed", [r for r in rows if r["executed"]])):
        out[subset] = {"n": len(chosen)}
        judged = [r["judge"] for r in chosen]
        for part in parts:
            other = [r[part] for r in chosen]
            varied = len(chosen) > 2 and len(set(judged)) > 1 and len(set(other)) > 1
            out[subset][part] = round(float(spearmanr(judged, other).statistic), 3) if varied else None
    return out
