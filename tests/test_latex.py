"""LaTeX tabular parsing: realistic arXiv tables and malformed ones."""

import math

import pytest

from msrl.data.latex import CellError, TableParseError, parse_latex_tables, parse_number, parse_tabular, read_number

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
    assert list(table.columns) == [
        "Method",
        "ChartMimic / Exec. Rate",
        "ChartMimic / Exec. Rate ±",  # the one uncertainty, kept
        "ChartMimic / Low-Level",
        "Plot2Code / Score",
    ]
    assert table["ChartMimic / Exec. Rate ±"].iloc[1] == 0.3 and table["ChartMimic / Exec. Rate ±"].isna().sum() == 3
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


@pytest.mark.parametrize("cell", ["--", "n/a", "", "-", "OOM", "N/A", "—"])
def test_missing_numbers(cell):
    assert math.isnan(read_number(cell).value)


@pytest.mark.parametrize("cell", ["abc", "12.3.4", "12,5", "2.1 10^-2", "1e", "±0.3", "1 ± 2 ± 3", "12 345"])
def test_text_that_only_starts_like_a_number_is_refused(cell):
    with pytest.raises(CellError, match="cannot read"):
        read_number(cell)
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


def _one_table(body: str):
    parsed = parse_latex_tables(r"\begin{tabular}" + body + r"\end{tabular}")
    assert len(parsed.tables) == 1, parsed.errors
    return parsed.tables[0], parsed.errors


# Cells as arXiv results sections write them, with the value (and error) each must give.
LATEX_NUMBERS = [
    (r"$2.1\times10^{-2}$", 0.021, None),
    (r"$2.1 \times 10^{-2}$", 0.021, None),
    (r"2.1$\times$10$^{-2}$", 0.021, None),
    (r"$3.4 \cdot 10^{3}$", 3400.0, None),
    (r"$1.5\times 10^5$", 150000.0, None),
    (r"$10^{-3}$", 0.001, None),
    (r"5e-3", 0.005, None),
    (r"1.2E+04", 12000.0, None),
    (r"\num{1.2e3}", 1200.0, None),
    (r"\num[round-precision=2]{0.25}", 0.25, None),
    (r"\SI{12.5}{\milli\second}", 12.5, None),
    (r"93.2 $\pm$ 0.3", 93.2, 0.3),
    (r"93.2$\pm$0.3", 93.2, 0.3),
    (r"93.2 \pm 0.3", 93.2, 0.3),
    (r"$93.2_{\pm 0.3}$", 93.2, 0.3),
    (r"93.2\scriptsize{$\pm$0.3}", 93.2, 0.3),
    (r"\textbf{93.2} $\pm$ \textbf{0.3}", 93.2, 0.3),
    (r"$-0.52 \pm 0.04$", -0.52, 0.04),
    (r"$(2.1 \pm 0.2) \times 10^{-3}$", None, None),  # refused: the power applies to both, not read here
    (r"1,234", 1234.0, None),
    (r"1{,}234", 1234.0, None),
    (r"1\,234", 1234.0, None),
    (r"12,345,678", 12345678.0, None),
    (r"45.6\%", 45.6, None),
    (r"45.6 \%", 45.6, None),
    (r"\textbf{96.5}", 96.5, None),
    (r"\underline{78.6}\%", 78.6, None),
    (r"{\bf 81.0}", 81.0, None),
    (r"\cellcolor{gray!20}88.1", 88.1, None),
    (r"\textcolor{red}{-3.5}", -3.5, None),
    (r"93.2$^{*}$", 93.2, None),
    (r"93.2$^\dagger$", 93.2, None),
    (r"93.2\textsuperscript{\ddagger}", 93.2, None),
    (r"$-$0.5", -0.5, None),
    (r"−0.5", -0.5, None),
    (r"+2.3", 2.3, None),
    (r"3.2M", 3.2e6, None),
    (r"175B", 1.75e11, None),
    (r"12ms", 12.0, None),
    (r"1.5$\times$", 1.5, None),
    (r"0.8 GB", 0.8, None),
    (r".95", 0.95, None),
]


@pytest.mark.parametrize("cell, value, error", LATEX_NUMBERS)
def test_latex_number_forms_are_read_or_reported(cell, value, error):
    table, errors = _one_table(
        r"{lcc} Method & Score & Other \\ \midrule A & " + cell + r" & 1 \\ B & 2 & 3 \\ C & 4 & 5 \\"
    )
    if value is None:  # refused: missing, with a located error naming the text
        assert math.isnan(table["Score"].iloc[0])
        assert errors and errors[0].startswith("tabular 1, row 2, column 'Score': cannot read")
        return
    assert errors == []
    assert table["Score"].iloc[0] == pytest.approx(value)
    if error is None:
        assert "Score ±" not in table.columns
    else:
        assert table["Score ±"].iloc[0] == pytest.approx(error)


def test_multirow_labels_are_carried_down_and_up():
    table, errors = _one_table(
        r"""{llcc}
        \toprule
        Dataset & Method & Acc & F1 \\
        \midrule
        \multirow{3}{*}{CIFAR-10} & ResNet & 93.1 & 0.91 \\
         & ViT & 95.2 & 0.94 \\
         & Ours & \textbf{96.0} & \textbf{0.95} \\
        \cmidrule{1-4}
        \multirow{2}{*}[-1ex]{ImageNet} & ResNet & 76.1 & 0.75 \\
         & ViT & 81.8 & \\
         & Ours & 82.0 & \multirow{-2}{*}{0.81} \\
        \bottomrule"""
    )
    assert errors == []
    assert list(table["Dataset"]) == ["CIFAR-10"] * 3 + ["ImageNet", "ImageNet", ""]
    assert list(table["F1"])[-3:] == [0.75, 0.81, 0.81]  # the -2 span fills the row above


@pytest.mark.parametrize(
    "header, name",
    [
        (r"$\lambda$", "λ"),
        (r"$\Delta$ (\%)", "Δ (%)"),
        (r"$R^2$", "R²"),
        (r"$F_1$", "F1"),
        (r"Acc. $\uparrow$", "Acc. ↑"),
        (r"FID$\downarrow$", "FID↓"),
        (r"\makecell{Exec.\\Rate}", "Exec. Rate"),
        (r"$\alpha=0.5$", "α=0.5"),
        (r"Time (s) $\times 10^3$", "Time (s) × 10³"),
        (r"\# Params", "# Params"),
    ],
)
def test_math_mode_headers_become_readable_names(header, name):
    table, _ = _one_table(r"{lc} Method & " + header + r" \\ \hline A & 1 \\ B & 2 \\")
    assert list(table.columns) == ["Method", name]


def test_missing_markers_and_bad_cells_in_one_table():
    table, errors = _one_table(
        r"""{lccc}
        \toprule Model & Acc & Time & Note \\ \midrule
        A & 91.2 & -- & fast \\
        B & n/a & 12.5 & slow \\
        C & OOM & 3.1.2 & slow \\
        D & 88.0 & 7.0 & fast \\
        \bottomrule"""
    )
    assert list(table["Note"]) == ["fast", "slow", "slow", "fast"]  # a text column stays text, no errors
    assert table["Acc"].isna().tolist() == [False, True, True, False]
    assert table["Time"].isna().tolist() == [True, False, True, False]
    assert errors == ["tabular 1, row 4, column 'Time': cannot read '3.1.2' as a number"]


def test_a_table_of_scientific_notation_and_errors_feeds_an_error_column():
    table, errors = _one_table(
        r"""{lcc}
        \toprule Material & Conductivity (S/m) & Density \\ \midrule
        Copper & $5.96\times10^{7}$ & 8.96 $\pm$ 0.01 \\
        Glass & $1.0\times10^{-11}$ & 2.50 $\pm$ 0.05 \\
        Silicon & $1.56\times10^{-3}$ & 2.33 $\pm$ 0.02 \\
        \bottomrule"""
    )
    assert errors == []
    assert table["Conductivity (S/m)"].tolist() == pytest.approx([5.96e7, 1.0e-11, 1.56e-3])
    assert table["Density ±"].tolist() == pytest.approx([0.01, 0.05, 0.02])
