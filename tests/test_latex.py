"""LaTeX tabular parsing: realistic arXiv tables and malformed ones."""

import math

import pytest

from msrl.data.latex import TableParseError, parse_latex_tables, parse_number, parse_tabular

RESULTS = r"""
\begin{table*}[t]
\centering
\caption{Main results.}  % the caption mentions 50% but is not a table
\resizebox{\textwidth}{!}{
\begin{tabular}{l|cc|c}
\toprule
\multirow{2}{*}{Method} & \multicolumn{2}{c|}{ChartMimic} & Plot2Code \\
\cmidrule(lr){2-3}
 & Exec. Rate & Low-Level & Score \\
\midrule
GPT-4o & 93.2 & 79.0\% & 7.68 \\
Qwen2.5-VL-7B & 68.4 $\pm$ 0.3 & 51.2\% & 5.9 \\[2pt]
\textbf{MSRL (ours)} & \textbf{96.5} & \underline{78.6}\% & -- \\ % best
ChartCoder \& co. & 1,234 & 3.2M & 12ms \\
\bottomrule
\end{tabular}}
\end{table*}
"""


def test_a_realistic_results_table():
    parsed = parse_latex_tables(RESULTS)
    assert parsed.errors == []
    (table,) = parsed.tables
    assert list(table.columns) == ["Method", "ChartMimic / Exec. Rate", "ChartMimic / Low-Level", "Plot2Code / Score"]
    assert list(table["Method"]) == ["GPT-4o", "Qwen2.5-VL-7B", "MSRL (ours)", "ChartCoder & co."]
    assert list(table["ChartMimic / Exec. Rate"]) == [93.2, 68.4, 96.5, 1234.0]
    assert table["ChartMimic / Low-Level"].iloc[3] == 3.2e6
    assert math.isnan(table["Plot2Code / Score"].iloc[2])


def test_tabular_star_tabularx_and_single_header():
    text = (
        r"\begin{tabularx}{\linewidth}{lXr} Model & Params (M) & Acc \\ \hline A & 12 & 0.5 \\ B & 7 & 0.7 \\"
        r"\end{tabularx}"
    )
    (table,) = parse_latex_tables(text).tables
    assert list(table.columns) == ["Model", "Params (M)", "Acc"] and list(table["Acc"]) == [0.5, 0.7]
    star = r"\begin{tabular*}{0.9\textwidth}{@{\extracolsep{\fill}}lc} x & y \\ a & 1 \\ b & 2 \\ \end{tabular*}"
    assert list(parse_latex_tables(star).tables[0]["y"]) == [1.0, 2.0]


@pytest.mark.parametrize(
    "cell, value",
    [
        ("12.3 ± 0.4", 12.3),
        ("45.6%", 45.6),
        ("1,234", 1234.0),
        ("3.2M", 3.2e6),
        ("-0.5", -0.5),
        ("2e-3", 0.002),
        ("12ms", 12.0),
    ],
)
def test_numbers(cell, value):
    assert parse_number(cell) == pytest.approx(value)


@pytest.mark.parametrize("cell", ["--", "n/a", "", "abc", "-"])
def test_missing_numbers(cell):
    assert math.isnan(parse_number(cell))


@pytest.mark.parametrize(
    "body, message",
    [
        (r"{lcc} a & b & c \\ x & 1 & 2 & 3 \\", "row 2 has 4 cells where the table has 3"),
        (r"{lc} a & b \\ x & \textbf{1 \\", "unbalanced braces"),
        (r"{lc} a & b \\ x & y \\ z & w \\", "no numeric column"),
        (r"{lc} a & b \\", "a header but no data rows"),
        (r"lc} a & b \\", "missing column specification"),
    ],
)
def test_malformed_tabulars_get_clear_errors(body, message):
    with pytest.raises(TableParseError, match=message):
        parse_tabular(body)


def test_one_broken_table_loses_nothing_else():
    broken = r"\begin{tabular}{lc} a & b \\ x & 1 & 2 \\ \end{tabular}"
    unfinished = r"\begin{tabular}{lc} a & b \\ x & 1 \\"
    parsed = parse_latex_tables(RESULTS + broken + RESULTS + unfinished)
    assert len(parsed.tables) == 2
    assert parsed.errors == ["tabular 2: row 2 has 3 cells where the table has 2"]
    assert parse_latex_tables("no tables here").errors == ["no tabular environment found"]
