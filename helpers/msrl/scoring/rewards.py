"""MSRL rewards with TRL's reward-function signature, built explicitly and registered by name.

``R = wt * textual + wv * visual + we * execution`` (paper, Sec. 3). Each component is a separate
TRL reward function; the weights are not in code: they go to ``GRPOConfig.reward_weights`` from the
preset, and TRL logs every component separately.

- ``execution``: 1 if the completion's program runs and draws a figure, else 0.
- ``textual``: weighted mean of rule-based parts comparing the completion's drawn chart with the
  reference chart: ``data`` (numbers matched one-to-one within +-5 %, F1), ``type`` (ChartMimic
  chart-type F1), ``layout`` (subplot grid F1), ``title`` (titles and suptitle) and ``labels``
  (axis labels), text compared case- and space-insensitively. A part counts only where either chart
  has something for it (a chart without a title is not rewarded for omitting one). 0 if it fails.
- ``visual``: the judge's 0..100 score of the rendered completion against the input chart, / 100.

Rewards are built, not configured: ``reward_funcs(names, context)`` (open-r1's ``get_reward_funcs``)
takes a ``RewardContext`` (the renderer, the textual part weights and tolerance, the judge) and
returns one closure per name; nothing is kept in module state, so two trainers in one process (or
one per rank) never share a renderer or a judge by accident. ``context_from_preset`` builds the
context from a preset.

Departure from the paper: it extracts these facts from the normalized code *text*; we extract them
from the executed figure (msrl.execution.introspect), which also sees values computed by loops or numpy. The
code is normalized first all the same (msrl.execution.normalize).

Every completion is executed once, in the sandbox pool, however many rewards read it: the
``CompletionRenderer`` caches results by code, renders all uncached completions of a batch in
parallel, and keeps the time spent (to report reward time as a share of a training step).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from msrl.execution.normalize import normalize_or_keep
from msrl.execution.sandbox import RenderPool, RenderResult, shared_pool
from msrl.scoring import metrics

REWARD_FACTORIES: dict[str, Callable] = {}
TEXTUAL_PARTS = ("data", "type", "layout", "title", "labels")


def register(name: str):
    """Register a reward factory ``make(context) -> f(completions, **columns) -> list[float]``."""

    def decorator(factory):
        REWARD_FACTORIES[name] = factory
        return factory

    return decorator


def reward_funcs(names, context: RewardContext) -> list[Callable]:
    """The TRL reward functions called ``names``, each bound to ``context``."""
    funcs = []
    for name in names:
        try:
            factory = REWARD_FACTORIES[name]
        except KeyError:
            raise KeyError(f"no reward named {name!r}; registered: {', '.join(sorted(REWARD_FACTORIES))}") from None
        function = factory(context)
        function.__name__ = name  # TRL names the logged reward column after the function
        funcs.append(function)
    return funcs


def completion_text(completion) -> str:
    """TRL passes strings (standard format) or message lists (conversational format)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        content = completion[-1].get("content", "")
        if isinstance(content, list):
            return "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return str(content)
    return str(completion)


class CompletionRenderer:
    """Sandbox results of completions, each program executed once (LRU cache by code hash)."""

    def __init__(self, pool: RenderPool | None = None, max_items: int = 4096):
        self._pool = pool
        self._cache: OrderedDict[str, RenderResult] = OrderedDict()
        self.max_items = max_items
        self.seconds = 0.0  # wall time spent rendering (reward-time share of a step)
        self.executions = 0

    @property
    def pool(self) -> RenderPool:
        if self._pool is None:
            self._pool = shared_pool()
        return self._pool

    def results(self, completions) -> list[RenderResult]:
        codes = [normalize_or_keep(completion_text(c)) for c in completions]
        keys = [hashlib.sha1(code.encode()).hexdigest() for code in codes]
        missing = {k: code for k, code in zip(keys, codes) if k not in self._cache}
        if missing:
            start = time.perf_counter()
            for key, result in zip(missing, self.pool.map(list(missing.values()), extract=False)):
                self._cache[key] = result
            self.seconds += time.perf_counter() - start
            self.executions += len(missing)
            while len(self._cache) > self.max_items:
                self._cache.popitem(last=False)
        for key in keys:
            self._cache.move_to_end(key)
        return [self._cache[k] for k in keys]


# ----------------------------------------------------------------------------------------------
# textual parts, each comparing two introspection records


def _norm_text(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().lower()


def _values_by_family(record: dict) -> dict[str, list[float]]:
    families: dict[str, list[float]] = {}
    for ax in record["axes"]:
        for series in ax["series"]:
            family = "bar" if series["type"] in ("bar", "barh") else series["type"]
            families.setdefault(family, []).extend(series["values"])
    return families


def _soft_matches(generated: list[float], reference: list[float], tolerance: float) -> int:
    """One-to-one matches within a relative tolerance (greedy over sorted values)."""
    gen, ref = sorted(generated), sorted(reference)
    i = j = matched = 0
    while i < len(gen) and j < len(ref):
        a, b = gen[i], ref[j]
        if abs(a - b) <= tolerance * max(abs(b), 1e-9):
            matched += 1
            i += 1
            j += 1
        elif a < b:
            i += 1
        else:
            j += 1
    return matched


def data_score(gen: dict, ref: dict, tolerance: float = 0.05) -> float | None:
    gen_values, ref_values = _values_by_family(gen), _values_by_family(ref)
    n_gen = sum(map(len, gen_values.values()))
    n_ref = sum(map(len, ref_values.values()))
    if n_gen == 0 and n_ref == 0:
        return None
    matched = sum(_soft_matches(gen_values.get(f, []), values, tolerance) for f, values in ref_values.items())
    return metrics.prf(matched, n_gen, n_ref).f1


def _titles(record: dict) -> list[str]:
    titles = [ax["title"] for ax in record["axes"] if ax["title"]]
    return [_norm_text(t) for t in titles + ([record["suptitle"]] if record["suptitle"] else [])]


def _labels(record: dict) -> list[str]:
    return [
        _norm_text(ax.get(key, "")) for ax in record["axes"] for key in ("xlabel", "ylabel", "zlabel") if ax.get(key)
    ]


def _optional_multiset(gen_items: list, ref_items: list) -> float | None:
    return None if not gen_items and not ref_items else metrics.multiset_prf(gen_items, ref_items).f1


def textual_parts(gen: dict, ref: dict, tolerance: float = 0.05) -> dict[str, float | None]:
    """Each part in [0, 1], or None where neither chart has anything for it."""
    return {
        "data": data_score(gen, ref, tolerance),
        "type": None if not gen["calls"] and not ref["calls"] else metrics.type_prf(gen, ref).f1,
        "layout": _optional_multiset(gen["layout"], ref["layout"]),
        "title": _optional_multiset(_titles(gen), _titles(ref)),
        "labels": _optional_multiset(_labels(gen), _labels(ref)),
    }


def textual_score(gen: dict | None, ref: dict, weights: dict, tolerance: float = 0.05) -> float:
    if gen is None:
        return 0.0
    parts = textual_parts(gen, ref, tolerance)
    present = {k: v for k, v in parts.items() if v is not None and weights.get(k, 0) > 0}
    if not present:
        return 0.0
    total = sum(weights[k] for k in present)
    return sum(weights[k] * v for k, v in present.items()) / total


# ----------------------------------------------------------------------------------------------
# the registered TRL reward functions

DEFAULT_TEXTUAL_WEIGHTS = {part: 1.0 for part in TEXTUAL_PARTS}


@dataclass(frozen=True)
class RewardContext:
    """Everything a reward reads besides its batch: built once per trainer, passed explicitly."""

    renderer: CompletionRenderer
    textual_weights: dict = field(default_factory=lambda: dict(DEFAULT_TEXTUAL_WEIGHTS))
    tolerance: float = 0.05  # the paper's soft value match: within +-5 %
    judge: object | None = None  # anything with ``score_many(references, candidates)``

    def __post_init__(self):
        unknown = set(self.textual_weights) - set(TEXTUAL_PARTS)
        if unknown:
            raise KeyError(f"unknown textual parts {sorted(unknown)}; parts are {TEXTUAL_PARTS}")


def context_from_preset(preset, renderer: CompletionRenderer, judge=None) -> RewardContext:
    return RewardContext(renderer, dict(preset.textual_weights), preset.data_tolerance, judge)


def batch_records(columns: dict, n: int) -> list[dict | None]:
    """The reference records of a batch: column ``record`` (JSON string or dict) from the dataset."""
    refs = columns.get("record")
    if refs is None:
        raise KeyError("the RL dataset needs a `record` column (the reference chart's introspection record)")
    return [json.loads(r) if isinstance(r, str) else r for r in refs][:n]


@register("execution")
def execution_reward(context: RewardContext):
    def execution(completions, **columns) -> list[float]:
        return [1.0 if r.ok else 0.0 for r in context.renderer.results(completions)]

    return execution


@register("textual")
def textual_reward(context: RewardContext):
    def textual(completions, **columns) -> list[float]:
        refs = batch_records(columns, len(completions))
        results = context.renderer.results(completions)
        return [
            textual_score(r.record if r.ok else None, ref, context.textual_weights, context.tolerance)
            if ref is not None
            else 0.0
            for r, ref in zip(results, refs)
        ]

    return textual


@register("visual")
def visual_reward(context: RewardContext):
    """The judge's total / 100 against the dataset's ``image`` column; 0 where nothing was drawn."""
    if context.judge is None:
        raise ValueError("the visual reward needs a judge: RewardContext(judge=msrl.scoring.judges.make_judge(...))")

    def visual(completions, **columns) -> list[float]:
        references = columns.get("image")
        if references is None:
            raise KeyError("the visual reward needs the dataset's `image` column (the reference chart)")
        results = context.renderer.results(completions)
        candidates = [r.png if r.ok else None for r in results]
        scores = context.judge.score_many(list(references)[: len(completions)], candidates)
        return [s.total / 100.0 for s in scores]

    return visual
