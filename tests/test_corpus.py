"""The corpus build at smoke scale: coverage, no table overlap, spec/code agreement, resume."""

import json
import random

import pandas as pd
import pytest

from msrl.data import corpus as corpus_mod
from msrl.data.emit import emit
from msrl.data.specs import CHART_TYPES, DATA_STYLES, Limits, SpecError, sample_spec
from msrl.data.tables import load_tables
from msrl.presets import get_preset

SMOKE = get_preset("smoke")


@pytest.fixture(scope="module")
def pool():
    from msrl.execution.sandbox import RenderPool

    with RenderPool(workers=2, dpi=SMOKE.data.dpi, max_px=SMOKE.data.image_px) as p:
        yield p


@pytest.fixture(scope="module")
def built(smoke_corpus):
    out, dataset, _, report = smoke_corpus
    return out, report, dataset


def test_every_split_has_every_chart_type_and_both_libraries(built):
    _, _, dataset = built
    assert len(CHART_TYPES) >= 14
    for split in ("sft", "rl", "eval"):
        assert set(dataset[split]["chart_type"]) == set(CHART_TYPES), split
        assert set(dataset[split]["library"]) == {"matplotlib", "seaborn"}, split
    assert {len(dataset[s]) for s in dataset} and len(dataset["sft"]) == SMOKE.data.n_sft


def test_no_table_is_in_two_splits_and_no_code_twice(built):
    _, report, dataset = built
    metrics = corpus_mod.corpus_metrics(report, dataset)
    assert metrics["table_overlap_between_splits"] == 0
    codes = [c for s in dataset for c in dataset[s]["code"]]
    assert len(set(codes)) == len(codes)
    assert all(n <= SMOKE.data.max_code_tokens for s in dataset for n in dataset[s]["n_tokens"])


def test_code_only_filters_run_before_rendering_and_no_render_is_wasted(built):
    _, report, dataset = built
    counts = report.filter_counts
    after_render = counts["exec_failed"] + counts["blank"] + counts["near_duplicate_image"]
    before_render = counts["duplicate_code"] + counts["too_long"]
    assert report.attempted == report.rendered + before_render
    # every render is accepted or dropped by an image filter: none is thrown away for a full quota
    assert report.rendered == sum(len(dataset[s]) for s in dataset) + after_render


def test_rows_hold_image_spec_and_reference_record(built):
    _, _, dataset = built
    row = dataset["eval"][0]
    assert row["image"].size[0] > 50 and max(row["image"].size) <= SMOKE.data.image_px
    assert json.loads(row["spec"])["chart_type"] == row["chart_type"]
    assert json.loads(row["record"])["axes"]


EXPECTED_CALLS = {
    "bar": {"bar"},
    "barh": {"barh", "bar"},
    "grouped_bar": {"bar"},
    "stacked_bar": {"bar"},
    "line": {"plot"},
    "area": {"fill_between", "stackplot"},
    "scatter": {"scatter"},
    "pie": {"pie"},
    "donut": {"pie"},
    "hist": {"hist", "bar"},
    "box": {"boxplot"},
    "violin": {"violinplot", "fill_between", "fill_betweenx"},
    "heatmap": {"imshow", "pcolormesh"},
    "errorbar": {"errorbar"},
    "radar": {"plot_polar"},
    "subplots": {"bar", "barh", "plot", "scatter", "hist", "fill_between", "stackplot", "pie"},
}


@pytest.mark.parametrize("data_style", DATA_STYLES)
def test_a_spec_and_its_code_agree(pool, data_style):
    """Render each type in both libraries, in each data style, and read back what was drawn."""
    rng = random.Random(1)
    limits = Limits(data_styles=(data_style,))
    by_split = load_tables(("synthetic", "vega"), n_synthetic=120)
    specs = []
    for chart_type in CHART_TYPES:
        for library in ("matplotlib", "seaborn"):
            for _ in range(60):
                try:
                    specs.append(
                        sample_spec(rng.choice(by_split["sft"]), chart_type, rng, library=library, limits=limits)
                    )
                    break
                except SpecError:
                    continue
    codes = [emit(s) for s in specs]
    if data_style == "records":  # the unzipped tuples are what makes this style robust
        assert sum("= zip(*rows" in code for code in codes) >= 10
    results = pool.map(codes, extract=False)
    for spec, result in zip(specs, results):
        assert result.ok, (spec.chart_type, spec.library, result.error)
        record = result.record
        titles = [ax["title"] for ax in record["axes"]] + [record["suptitle"]]
        assert spec.title in titles, (spec.chart_type, titles)
        assert set(record["calls"]) & EXPECTED_CALLS[spec.chart_type], (spec.chart_type, spec.library, record["calls"])
        if spec.chart_type == "subplots":
            assert len(record["layout"]) == spec.grid[0] * spec.grid[1]
        if spec.chart_type == "bar" and spec.library == "matplotlib":
            (values,) = spec.series.values()
            assert record["axes"][0]["series"][0]["values"] == values


def shard_codes(builder) -> list[str]:
    return sorted(c for s in ("sft", "rl", "eval") for p in builder._shard_paths(s) for c in pd.read_parquet(p)["code"])


def test_an_interrupted_build_resumes_to_the_same_corpus(tmp_path, pool, built, monkeypatch):
    preset = get_preset("smoke", {"data.shard_size": 8, "data.n_sft": 24})
    reference = corpus_mod.CorpusBuilder(preset, tmp_path / "a", pool=pool)
    reference.build(tmp_path / "tok")
    expected = {s: reference._count(s) for s in ("sft", "rl", "eval")}
    codes_expected = shard_codes(reference)

    original = corpus_mod.CorpusBuilder._fill_shard
    calls = {"n": 0}

    def crash_after_three(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt("simulated kill")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(corpus_mod.CorpusBuilder, "_fill_shard", crash_after_three)
    with pytest.raises(KeyboardInterrupt):
        corpus_mod.CorpusBuilder(preset, tmp_path / "b", pool=pool).build(tmp_path / "tok")
    monkeypatch.setattr(corpus_mod.CorpusBuilder, "_fill_shard", original)
    resumed = corpus_mod.CorpusBuilder(preset, tmp_path / "b", pool=pool)
    report = resumed.build(tmp_path / "tok")
    assert report.resumed_shards == 3
    assert {s: resumed._count(s) for s in expected} == expected
    assert shard_codes(resumed) == codes_expected  # same items, none duplicated, none lost


def test_near_duplicate_images_are_caught_and_different_charts_are_not(pool):
    import numpy as np

    base = (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(5, 3.5))\n"
        "ax.bar(['a', 'b', 'c', 'd'], {values}, color='{color}')\nax.set_title('{title}')\n"
    )
    programs = [
        base.format(values=[3, 5, 2, 6], color="tab:blue", title="Sales"),
        base.format(values=[3, 5, 2, 6], color="tab:green", title="Sales"),  # same chart, recoloured
        base.format(values=[6, 1, 4, 2], color="tab:blue", title="Sales"),  # other data
        base.replace("ax.bar", "ax.plot").format(values=[3, 5, 2, 6], color="tab:blue", title="Sales"),
    ]
    hashes = [r.extra["image_stats"]["dhash"] for r in pool.map(programs, extract=False)]
    seen = corpus_mod._hash_bytes(hashes[:1])
    near, other_data, other_type = (corpus_mod._hamming_hits(seen, corpus_mod._hash_bytes([h])[0]) for h in hashes[1:])
    assert near and not other_data and not other_type
    assert len(hashes[0]) == 64 and np.unpackbits(seen).size == 256


def test_an_unknown_data_style_is_refused():
    with pytest.raises(ValueError, match="data_styles"):
        Limits(data_styles=("record",))


def test_the_plan_comment_names_the_chart_type_first_and_draws_the_same_chart(pool):
    """The small preset's programs open with their chart type; the figure is the one without it."""
    import dataclasses

    table = load_tables(("synthetic",), n_synthetic=40)["sft"][0]
    spec = sample_spec(table, "bar", random.Random(3), limits=Limits(plan_comment=True))
    planned = emit(spec)
    plain = emit(dataclasses.replace(spec, style={**spec.style, "plan_comment": False}))
    assert planned.splitlines()[0] == "# chart type: bar" and planned == "# chart type: bar\n" + plain
    first, second = pool.map([planned, plain])
    assert first.ok and first.record == second.record
