"""The evaluation CLI over folders (generated vs references)."""

from msrl.scoring.chartmimic import main

GOOD = "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [1, 2], color='red')\nplt.title('T')\n"


def test_cli_scores_a_folder_and_counts_missing_items_as_failed(tmp_path, capsys):
    refs, gen = tmp_path / "refs", tmp_path / "gen"
    refs.mkdir()
    gen.mkdir()
    (refs / "one.py").write_text(GOOD)
    (refs / "two.py").write_text(GOOD.replace("'T'", "'U'"))
    (gen / "one.py").write_text(GOOD)
    out = tmp_path / "table.csv"
    assert main(["--generated", str(gen), "--references", str(refs), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert '"execution_rate": 50.0' in printed and '"low_level": 50.0' in printed
    assert out.read_text().count("\n") == 3
