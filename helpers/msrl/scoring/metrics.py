"""ChartMimic-compatible low-level metrics, computed from two introspection records.

Definitions follow ChartMimic's evaluators (chart2code/utils/evaluator):

- text: multiset of drawn strings, tick labels excluded; correct = exact matches (each used once).
- layout: multiset of gridspec tuples (nrows, ncols, row_start, row_end, col_start, col_end).
- chart type: counts of top-level plotting calls per function; correct = sum of min(counts).
- colour: the set of ``function--colour`` pairs; within each function, the best one-to-one
  assignment of generated to reference colours maximising the summed similarity
  ``max(0, 1 - dE2000 / 100)`` (colormap names: 1 if equal); correct = that sum.

Each gives precision = correct / len(generated), recall = correct / len(reference), F1. The
low-level score is the mean of the four F1s x 100, with items that failed to run counted as 0 over
the full denominator; the execution rate is the share of items that ran.

Departures: ChartMimic tries every permutation (factorial time) for the colour assignment; we use
the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``), which finds the same optimum.
ChartMimic scores 0 when both sides are empty (a reference with no text scores 0 against itself);
we score 1 when both are empty, so that every reference scored against itself gives 100.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

LOW_LEVEL_PARTS = ("text", "layout", "type", "color")


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float


def prf(correct: float, n_generated: int, n_reference: int) -> PRF:
    if n_generated == 0 and n_reference == 0:
        return PRF(1.0, 1.0, 1.0)
    if n_generated == 0 or n_reference == 0:
        return PRF(0.0, 0.0, 0.0)
    precision, recall = correct / n_generated, correct / n_reference
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return PRF(precision, recall, f1)


def multiset_prf(generated, reference) -> PRF:
    gen, ref = Counter(map(_hashable, generated)), Counter(map(_hashable, reference))
    correct = sum(min(count, gen[item]) for item, count in ref.items())
    return prf(correct, sum(gen.values()), sum(ref.values()))


def _hashable(item):
    return tuple(item) if isinstance(item, list) else item


def text_prf(gen: dict, ref: dict) -> PRF:
    return multiset_prf(gen["texts"], ref["texts"])


def layout_prf(gen: dict, ref: dict) -> PRF:
    return multiset_prf(gen["layout"], ref["layout"])


def type_prf(gen: dict, ref: dict) -> PRF:
    gen_calls, ref_calls = Counter(gen["calls"]), Counter(ref["calls"])
    correct = sum(min(n, ref_calls[name]) for name, n in gen_calls.items())
    return prf(correct, sum(gen_calls.values()), sum(ref_calls.values()))


def _lab(hex_colors: list[str]) -> np.ndarray:
    import colour

    rgb = np.array([[int(h[i : i + 2], 16) / 255.0 for i in (1, 3, 5)] for h in hex_colors])
    return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb))


def color_similarity(a: list[str], b: list[str]) -> np.ndarray:
    """Pairwise similarity matrix: 1 - dE2000/100 (floored at 0) for hex colours, equality else."""
    sim = np.zeros((len(a), len(b)))
    hex_a = [i for i, c in enumerate(a) if c.startswith("#")]
    hex_b = [j for j, c in enumerate(b) if c.startswith("#")]
    if hex_a and hex_b:
        import colour

        lab_a, lab_b = _lab([a[i] for i in hex_a]), _lab([b[j] for j in hex_b])
        delta = colour.delta_E(lab_a[:, None, :], lab_b[None, :, :], method="CIE 2000")
        sim[np.ix_(hex_a, hex_b)] = np.clip(1.0 - delta / 100.0, 0.0, None)
    for i, ca in enumerate(a):
        if not ca.startswith("#"):
            for j, cb in enumerate(b):
                sim[i, j] = float(ca == cb)
    return sim


def color_prf(gen: dict, ref: dict) -> PRF:
    from scipy.optimize import linear_sum_assignment

    def grouped(colors):
        groups: dict[str, list[str]] = {}
        for item in colors:
            function, _, color = item.rpartition("--")
            groups.setdefault(function, []).append(color)
        return groups

    gen_groups, ref_groups = grouped(gen["colors"]), grouped(ref["colors"])
    correct = 0.0
    for function in set(gen_groups) & set(ref_groups):
        sim = color_similarity(gen_groups[function], ref_groups[function])
        rows, cols = linear_sum_assignment(sim, maximize=True)
        correct += float(sim[rows, cols].sum())
    return prf(correct, len(gen["colors"]), len(ref["colors"]))


def low_level(gen: dict | None, ref: dict) -> dict:
    """The four F1s (0..1) and the low-level score (0..100) of one item; gen None = failed run."""
    if gen is None:
        scores = {part: 0.0 for part in LOW_LEVEL_PARTS}
    else:
        scores = {
            "text": text_prf(gen, ref).f1,
            "layout": layout_prf(gen, ref).f1,
            "type": type_prf(gen, ref).f1,
            "color": color_prf(gen, ref).f1,
        }
    scores["low_level"] = 100.0 * sum(scores[p] for p in LOW_LEVEL_PARTS) / len(LOW_LEVEL_PARTS)
    return scores


def aggregate(rows: list[dict]) -> dict:
    """Benchmark-level figures over all items (failed items count as 0, as in ChartMimic)."""
    n = len(rows)
    if n == 0:
        return {"n": 0}
    out = {"n": n, "execution_rate": 100.0 * sum(bool(r["executed"]) for r in rows) / n}
    for key in (*LOW_LEVEL_PARTS, "low_level"):
        scale = 1.0 if key == "low_level" else 100.0
        out[key] = scale * sum(float(r[key]) for r in rows) / n
    return out
