"""Notebook conventions: output-free, cell 2 tagged `parameters` with plain values, no definitions."""

import ast
import json
from pathlib import Path

import nbformat
import pytest

from msrl import paths

NOTEBOOKS = sorted(paths.NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
TOY = sorted((Path(__file__).parent / "fixtures" / "toy_notebooks").glob("*.ipynb"))
REQUIRED_PARAMETERS = {"SCALE", "SEED", "INTERACTIVE", "RUN_DIR"}


@pytest.mark.parametrize("path", NOTEBOOKS + TOY, ids=lambda p: p.name)
def test_notebook_follows_the_conventions(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        assert not cell.get("outputs") and cell.get("execution_count") is None, "commit without outputs"
        tree = ast.parse(cell.source)
        defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defined, "notebooks hold no function definitions: put logic in msrl"
    params = code[1]
    assert "parameters" in params.metadata.get("tags", []), "cell 2 must be tagged `parameters`"
    names = set()
    for stmt in ast.parse(params.source).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, "plain assignments only"
        ast.literal_eval(stmt.value)  # plain values only
        names.add(stmt.targets[0].id)
    assert REQUIRED_PARAMETERS <= names


def test_every_series_notebook_is_a_known_stage():
    for path in NOTEBOOKS:
        assert path.stem in paths.STAGES


def test_the_stages_judge_through_one_score_file_of_the_run():
    """A model scored in 04 is re-scored in 05-07 from its stored programs: with one judge cache per
    run, its charts are not judged (OCR'd) again."""
    judging = [p for p in NOTEBOOKS if "make_judge(" in p.read_text()]
    assert len(judging) >= 5
    for path in judging:
        assert "make_judge(preset.judge, cache_path=stage.shared(msrl.paths.JUDGE_CACHE))" in path.read_text()


def test_the_series_runs_at_smoke_scale(smoke_run):
    """Every notebook of the series, executed by papermill at the smoke preset."""
    tmp_path, manifest = smoke_run
    assert [name for name, s in manifest["stages"].items() if s["status"] == "ok"] == [p.stem for p in NOTEBOOKS]
    data = json.loads((tmp_path / "01_data" / "metrics.json").read_text())
    assert data["n_chart_types"] >= 14 and data["table_overlap_between_splits"] == 0
    assert (tmp_path / "01_data" / "figures" / "corpus_overview.png").exists()
    sft = json.loads((tmp_path / "02_sft" / "metrics.json").read_text())
    assert "image_gain" in sft["eval_split"] and "distinct" in sft["eval_split"]  # the image control ran
    assert sft["sft"]["warmup"]["steps"] == 2 and "bf16" in sft["sft"]["precision"]
    rl = json.loads((tmp_path / "04_rl_stage1" / "metrics.json").read_text())
    assert all(run["steps"] >= 1 and 0 < run["reward_time_share"] < 1 for run in rl["runs"].values())
    assert rl["runs"]["0"]["rewards"] == {"textual": 1.0, "execution": 0.5}
    stage2 = json.loads((tmp_path / "05_rl_stage2" / "metrics.json").read_text())
    assert stage2["runs"]["0"]["rewards"] == {"textual": 0.5, "visual": 0.5, "execution": 0.5}
    assert {r["model"] for r in stage2["evaluations"]} == {"SFT", "stage 1", "stage 2"}
    ablated = json.loads((tmp_path / "06_ablations" / "metrics.json").read_text())
    assert {r["model"] for r in ablated["table"]} >= {"stage 1 only", "two-stage", "single-stage hybrid", "linear ramp"}
    final = json.loads((tmp_path / "07_eval" / "metrics.json").read_text())
    assert {r["model"] for r in final["table"]} >= {"base (untrained)", "SFT", "GRPO stage 1", "GRPO stage 2"}
    report = (tmp_path / "REPORT.md").read_text()
    assert "## Final table" in report and "GRPO stage 2" in report
    assert (tmp_path / "06_ablations" / "figures" / "examples.png").exists()
