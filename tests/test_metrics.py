"""ChartMimic-compatible metrics: unit checks, and validation on the real ChartMimic items."""

import itertools
import random

import pytest

from msrl.execution.sandbox import RenderPool
from msrl.paths import CHARTMIMIC_DIR
from msrl.scoring import metrics
from msrl.scoring.chartmimic import evaluate, load_benchmark

needs_chartmimic = pytest.mark.skipif(not CHARTMIMIC_DIR.is_dir(), reason="../shared benchmark absent")


@pytest.fixture(scope="module")
def pool():
    with RenderPool(workers=2, timeout_s=20) as p:
        yield p


def record(texts=(), layout=(), calls=None, colors=()):
    return {
        "texts": list(texts),
        "layout": [list(x) for x in layout],
        "calls": dict(calls or {}),
        "colors": list(colors),
    }


def test_multiset_matching_uses_each_item_once():
    prf = metrics.multiset_prf(["a", "a", "b"], ["a", "b", "b", "c"])
    assert prf.precision == pytest.approx(2 / 3) and prf.recall == pytest.approx(2 / 4)
    assert metrics.multiset_prf([], []).f1 == 1.0
    assert metrics.multiset_prf(["a"], []).f1 == 0.0


def test_type_counts_sum_of_minimums():
    prf = metrics.type_prf(record(calls={"bar": 3, "plot": 1}), record(calls={"bar": 1, "scatter": 2}))
    assert prf.precision == pytest.approx(1 / 4) and prf.recall == pytest.approx(1 / 3)


def test_color_similarity_is_one_minus_delta_e_2000():
    sim = metrics.color_similarity(["#FF0000", "viridis"], ["#FF0000", "#FE0000", "viridis"])
    assert sim[0, 0] == pytest.approx(1.0) and 0.98 < sim[0, 1] < 1.0
    assert sim[1, 2] == 1.0 and sim[0, 2] == 0.0
    assert metrics.color_similarity(["#000000"], ["#FFFFFF"])[0, 0] == 0.0  # dE2000 = 100


def test_optimal_colour_assignment_matches_brute_force_permutations():
    rng = random.Random(0)
    for _ in range(20):
        gen = [f"#{rng.randrange(2**24):06X}" for _ in range(rng.randint(1, 5))]
        ref = [f"#{rng.randrange(2**24):06X}" for _ in range(rng.randint(1, 5))]
        sim = metrics.color_similarity(gen, ref)
        short, long_ = (gen, ref) if len(gen) <= len(ref) else (ref, gen)
        matrix = sim if len(gen) <= len(ref) else sim.T
        brute = max(
            sum(matrix[i, j] for i, j in enumerate(perm))
            for perm in itertools.permutations(range(len(long_)), len(short))
        )
        prf = metrics.color_prf(record(colors=[f"bar--{c}" for c in gen]), record(colors=[f"bar--{c}" for c in ref]))
        assert prf.precision * len(gen) == pytest.approx(brute)


def test_colours_only_match_within_the_same_plotting_function():
    prf = metrics.color_prf(record(colors=["bar--#FF0000"]), record(colors=["plot--#FF0000"]))
    assert prf.f1 == 0.0


def test_failed_items_count_as_zero_over_the_full_denominator():
    ref = record(texts=["t"], layout=[[1, 1, 0, 0, 0, 0]], calls={"bar": 1}, colors=["bar--#FF0000"])
    rows = [{"executed": True, **metrics.low_level(ref, ref)}, {"executed": False, **metrics.low_level(None, ref)}]
    summary = metrics.aggregate(rows)
    assert summary["execution_rate"] == 50.0 and summary["low_level"] == 50.0 and summary["text"] == 50.0


@needs_chartmimic
def test_references_score_100_against_an_independent_run_of_themselves(pool):
    items = load_benchmark(limit=40)
    evaluation = evaluate([i["code"] for i in items], [i["code"] for i in items], pool, ids=[i["id"] for i in items])
    assert len(evaluation.rows) == 40  # every one runs (compat.py restores the APIs removed since)
    assert all(r["low_level"] == pytest.approx(100.0) for r in evaluation.rows), [
        r["id"] for r in evaluation.rows if r["low_level"] < 100
    ]


@needs_chartmimic
def test_controlled_edits_lower_the_intended_metric(pool):
    ref = (CHARTMIMIC_DIR / "bar_12.py").read_text()
    edits = {
        "title": ref.replace('title1 = "Beauty"', 'title1 = "Cosmetics"'),
        "color": ref.replace('axes[0].axvline(axvline1, color="black")', 'axes[0].axvline(axvline1, color="red")'),
        "type": ref.replace(
            'axes[0].barh(models, beauty_values, color="white", edgecolor="black")',
            'axes[0].plot(beauty_values, models, color="white")',
        ),
    }
    assert all(code != ref for code in edits.values())
    evaluation = evaluate(list(edits.values()), [ref] * len(edits), pool, ids=list(edits))
    scores = {row["id"]: row for row in evaluation.rows}
    assert all(row["executed"] for row in scores.values())
    title, color, swap = scores["title"], scores["color"], scores["type"]
    assert title["text"] < 1 and title["layout"] == title["type"] == title["color"] == 1
    assert color["color"] < 1 and color["text"] == color["layout"] == color["type"] == 1
    # colours are keyed by plotting function (ChartMimic), so a bar->line swap moves colour too
    assert swap["type"] < 1 and swap["text"] == swap["layout"] == 1


def test_dropping_a_subplot_lowers_layout_only(pool):
    two = (
        "import matplotlib.pyplot as plt\nfig, axes = plt.subplots(1, 2)\n"
        "axes[0].bar(['a', 'b'], [1, 2], color='tab:blue')\naxes[0].set_title('T')\n"
    )
    one = two.replace("plt.subplots(1, 2)", "plt.subplots(1, 1)\naxes = [axes]")
    row = evaluate([one], [two], pool).rows[0]
    assert row["layout"] < 1 and row["text"] == row["type"] == row["color"] == 1
