"""LaTeX ``tabular`` environments (as found in arXiv sources) -> pandas DataFrames.

Handles: ``&`` cells and ``\\\\`` rows (escaped ``\\&`` kept), comments, rules (``\\hline``,
``\\toprule``/``\\midrule``/``\\bottomrule``, ``\\cline``, ``\\cmidrule``), ``\\multicolumn`` (its
text fills the spanned cells of header rows; an empty cell elsewhere), ``\\multirow`` (its text,
carried down to the empty cells of the rows it spans; a negative span carries it up), formatting
(``\\textbf``, ``\\textit``, ``\\emph``, ``\\underline``, ``{\\bf ..}``, colour macros), math-mode
names in headers (``$\\lambda$`` -> λ, ``$\\Delta$ (\\%)`` -> Δ (%), ``$R^2$`` -> R²).

Numbers (``read_number``): ``12.3``, ``-0.5``, ``2e-3``, ``$2.1\\times10^{-2}$``, ``2.1 \\cdot 10^{3}``,
``\\num{1.2e3}``, ``1,234``, ``1{,}234``, ``1\\,234``, ``45.6\\%``, ``3.2M``, ``12ms``, footnote marks
(``93.2$^{*}$``, ``\\dagger``). An uncertainty (``93.2 $\\pm$ 0.3``, ``93.2±0.3``, ``93.2_{\\pm 0.3}``) is
kept: the value in its column and the error in a column named ``"<column> ±"``, which error-bar
charts use. ``-``, ``--``, ``n/a``, ``OOM`` and the like are missing values.

A number is never guessed: a cell of a numeric column that is not a number or a missing marker in
one of these forms (``2.1 10^-2``, ``12.3.4``, ``12,5``) becomes missing and is reported as a located
error (tabular, row, column, text). A column is numeric when at least half of its non-missing cells
read as numbers.

Header rows are the rows before the first rule that follows the first content row, or the first
row if there is no such rule; several header rows are joined with " / ". The first column holds the
row labels. A table that cannot be parsed raises ``TableParseError`` naming what is wrong; parsing
a document returns the good tables and the errors of the bad ones and of bad cells, so one broken
table or cell loses nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_ENV = re.compile(r"\\begin\{(tabular\*?|tabularx|longtable)\}(.*?)\\end\{\1\}", re.S)
_RULES = re.compile(
    r"\\(hline|toprule|midrule|bottomrule|specialrule\{[^}]*\}\{[^}]*\}\{[^}]*\}|"
    r"addlinespace(\[[^\]]*\])?|cline\{[^}]*\}|cmidrule(\([^)]*\))?\{[^}]*\}|hdashline)"
)
# Full-width rules end a header; partial ones (\cmidrule, \cline) sit inside multi-row headers.
_FULL_RULES = re.compile(r"\\(hline|toprule|midrule|bottomrule|specialrule|hdashline)")
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?")
_SCALE = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9}
_MISSING = {
    *("", "-", "--", "---", "n/a", "na", "n.a.", "none", "nan", "—", "–", "x", "×", "?", "/", "-/-"),
    *("oom", "oot", "timeout", "tbd", "n/r", "nr"),  # "no result" in ML tables: out of memory / time
}
_MARKS = "*†‡§¶'"  # footnote and significance marks after a value
_UNIT = re.compile(r"^(%|[A-Za-zµ°×/]{1,8}\d?)$")  # "12ms", "3.2 GB", "1.5x", "12 s/it"
_PLUS_MINUS = re.compile(r"±|\+/-|\+-")
ERROR_SUFFIX = " ±"  # the error column of "<column>": "<column> ±"


class TableParseError(ValueError):
    """A tabular that cannot be turned into a table; the message says why."""


class CellError(ValueError):
    """A cell that is neither a number nor a missing marker."""


@dataclass(frozen=True)
class Number:
    value: float  # nan: a missing value
    error: float | None = None  # the uncertainty after ±, if any


@dataclass
class ParsedTables:
    tables: list[pd.DataFrame]
    errors: list[str]


def parse_latex_tables(text: str) -> ParsedTables:
    """Every tabular in ``text``: the parsed ones, and one error message per broken table or cell."""
    text = _strip_comments(text)
    tables, errors = [], []
    environments = list(_ENV.finditer(text))
    if not environments:
        opened = text.count("\\begin{tabular")
        return ParsedTables(
            [],
            [f"no complete tabular environment found ({opened} opened)"]
            if opened
            else ["no tabular environment found"],
        )
    for index, match in enumerate(environments, 1):
        cell_errors: list[str] = []
        try:
            tables.append(parse_tabular(match.group(2), match.group(1), cell_errors))
        except TableParseError as err:
            errors.append(f"tabular {index}: {err}")
        errors.extend(f"tabular {index}, {message}" for message in cell_errors)
    return ParsedTables(tables, errors)


def parse_tabular(body: str, environment: str = "tabular", errors: list[str] | None = None) -> pd.DataFrame:
    """One tabular body (what follows ``\\begin{tabular}``); the column spec is skipped. Cells of
    numeric columns that do not read as numbers become missing, with a message added to ``errors``."""
    body = _skip_arguments(body, 2 if environment in ("tabular*", "tabularx") else 1)
    rows, rule_after = _split_rows(body)
    if not rows:
        raise TableParseError("no rows")
    header_count = 1
    if rule_after:  # header = rows before the first rule that follows content
        first_rule = min(rule_after)
        if 0 < first_rule + 1 < len(rows):
            header_count = first_rule + 1
    header_rows, data_rows = rows[:header_count], rows[header_count:]
    width = len(rows[0])  # the header's width (multicolumns expanded)
    if not data_rows:
        raise TableParseError("a header but no data rows")
    for number, row in enumerate(data_rows, header_count + 1):
        if len(row) != width and len(row) != 1:
            raise TableParseError(f"row {number} has {len(row)} cells where the table has {width}")
    for number, row in enumerate(header_rows[1:], 2):
        if len(row) != width:
            raise TableParseError(f"header row {number} has {len(row)} cells where the table has {width}")
    header = _join_header(header_rows, width)
    numbered = [(n, r) for n, r in enumerate(data_rows, header_count + 1) if len(r) == width]  # 1 cell: a title
    if not numbered:
        raise TableParseError("no data rows with the table's width")
    cells = _carry_multirows([[_clean(c) for c in r] for _, r in numbered], [r for _, r in numbered])
    frame = pd.DataFrame(cells, columns=header)
    keep = ~pd.Index(header).duplicated()
    frame = frame.loc[:, keep]
    columns: dict[str, pd.Series] = {frame.columns[0]: frame.iloc[:, 0]}
    for column in frame.columns[1:]:
        read = _read_column(frame[column], column, [n for n, _ in numbered], errors)
        if read is None:
            columns[column] = frame[column]
            continue
        values, uncertainties = read
        columns[column] = values
        if uncertainties.notna().any():
            columns[column + ERROR_SUFFIX] = uncertainties
    frame = pd.DataFrame(columns)
    if not any(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns[1:]):
        raise TableParseError("no numeric column")
    return frame


def _read_column(cells: pd.Series, name: str, row_numbers: list[int], errors: list[str] | None):
    """(values, errors) of a numeric column, or None for a text column (under half of its
    non-missing cells are numbers). Unreadable cells of a numeric column are reported."""
    read, bad = [], []
    for text, row in zip(cells, row_numbers):
        try:
            read.append(read_number(text))
        except CellError:
            read.append(Number(np.nan))
            bad.append((row, text))
    present = sum(1 for text in cells if str(text).strip().lower() not in _MISSING)
    if present == 0 or len(bad) * 2 > present:
        return None
    if errors is not None:
        errors.extend(f"row {row}, column {name!r}: cannot read {text!r} as a number" for row, text in bad)
    values = pd.Series([n.value for n in read], index=cells.index, dtype=float)
    uncertainties = pd.Series([np.nan if n.error is None else n.error for n in read], index=cells.index, dtype=float)
    return values, uncertainties


def read_number(cell: str) -> Number:
    """A cleaned cell as a number: ``'12.3 ± 0.4'`` -> 12.3 (error 0.4), ``'45.6%'`` -> 45.6,
    ``'1,234'`` -> 1234, ``'3.2M'`` -> 3.2e6, ``'2.1e-2'``; a missing marker -> nan. Anything else
    raises ``CellError``: a number is never guessed from text that only starts like one."""
    text = str(cell).strip().replace("−", "-")
    if text.lower() in _MISSING:
        return Number(np.nan)
    parts = _PLUS_MINUS.split(text)
    if len(parts) > 2:
        raise CellError(f"cannot read {cell!r} as a number")
    value = _read_value(parts[0], cell)
    if len(parts) == 1:
        return Number(value)
    error = _read_value(parts[1], cell)
    if np.isnan(value) or np.isnan(error):
        raise CellError(f"cannot read {cell!r} as a number")
    return Number(value, abs(error))


def _read_value(text: str, cell: str) -> float:
    text = text.strip().rstrip(_MARKS).strip()
    match = _NUMBER.match(text)
    if not match or not any(ch.isdigit() for ch in match.group(0)):
        raise CellError(f"cannot read {cell!r} as a number")
    value = float(match.group(0).replace(",", ""))
    rest = text[match.end() :].strip()
    if rest[:1] in _SCALE and (len(rest) == 1 or not rest[1].isalpha()):
        value *= _SCALE[rest[0]]
        rest = rest[1:].strip()
    if rest and (not _UNIT.match(rest) or re.match(r"[eE]([+-]|\d|$)", rest)):  # "1e": a cut exponent
        raise CellError(f"cannot read {cell!r} as a number")
    return value


def parse_number(cell: str) -> float:
    """The value of ``read_number``, or nan where the cell is missing or not a number."""
    try:
        return read_number(cell).value
    except CellError:
        return np.nan


def _strip_comments(text: str) -> str:
    return re.sub(r"(?<!\\)%[^\n]*", "", text)


def _skip_arguments(body: str, count: int) -> str:
    """Drop the environment's leading braced arguments (column spec; width for tabular*/x)."""
    for _ in range(count):
        body = body.lstrip()
        if not body.startswith("{"):
            raise TableParseError("missing column specification")
        depth = 0
        for i, ch in enumerate(body):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                body = body[i + 1 :]
                break
        else:
            raise TableParseError("unbalanced braces in the column specification")
    return body


def _split_rows(body: str) -> tuple[list[list[str]], set[int]]:
    """Rows (lists of raw cells) and the indices of rows followed by a rule."""
    rows: list[list[str]] = []
    rule_after: set[int] = set()
    depth = 0
    current = []
    chunks = []
    i = 0
    while i < len(body):  # split on \\ outside braces
        ch = body[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise TableParseError("unbalanced braces: a '}' without its '{'")
        if body.startswith("\\\\", i) and depth == 0:
            chunks.append("".join(current))
            current = []
            i += 2
            if i < len(body) and body[i] == "[":  # \\[2pt]
                i = body.find("]", i) + 1 or len(body)
            continue
        current.append(ch)
        i += 1
    if depth != 0:
        raise TableParseError("unbalanced braces: a '{' is never closed")
    chunks.append("".join(current))
    for chunk in chunks:
        if _FULL_RULES.search(chunk) and rows:
            rule_after.add(len(rows) - 1)
        content = _RULES.sub("", chunk).strip()
        if not content:
            continue
        rows.append(_split_cells(content))
    return rows, rule_after


def _split_cells(row: str) -> list[str]:
    cells, current, depth = [], [], 0
    for i, ch in enumerate(row):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "&" and depth == 0 and (i == 0 or row[i - 1] != "\\"):
            cells.append("".join(current))
            current = []
        else:
            current.append(ch)
    cells.append("".join(current))
    expanded = []
    for cell in cells:
        match = re.match(r"\s*\\multicolumn\{(\d+)\}\{[^}]*\}\{(.*)\}\s*$", cell, re.S)
        if match:
            expanded.extend([match.group(2)] + ["\x00" + match.group(2)] * (int(match.group(1)) - 1))
        else:
            expanded.append(cell)
    return expanded


def _join_header(rows: list[list[str]], width: int) -> list[str]:
    names = []
    for col in range(width):
        parts = []
        for row in rows:
            text = _clean(row[col].lstrip("\x00"))
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        names.append(" / ".join(parts) or f"column {col + 1}")
    return names


_MULTIROW = re.compile(r"\\multirow\{\s*(-?\d+)\s*\}(?:\[[^\]]*\])?\{[^}]*\}(?:\[[^\]]*\])?\{(.*)\}", re.S)


def _carry_multirows(cleaned: list[list[str]], raw: list[list[str]]) -> list[list[str]]:
    """A ``\\multirow{n}`` label fills the empty cells of the n - 1 rows below it (above it for -n)."""
    for col in range(len(raw[0]) if raw else 0):
        for row, cells in enumerate(raw):
            match = _MULTIROW.search(cells[col])
            if not match:
                continue
            span, text = int(match.group(1)), cleaned[row][col]
            step = 1 if span > 0 else -1
            for other in range(row + step, row + span, step):
                if 0 <= other < len(cleaned) and not cleaned[other][col]:
                    cleaned[other][col] = text
    return cleaned


_SYMBOLS = {
    **{
        name: chr(0x3B1 + i)
        for i, name in enumerate(
            "alpha beta gamma delta epsilon zeta eta theta iota kappa "
            "lambda mu nu xi omicron pi rho varsigma sigma tau upsilon "
            "phi chi psi omega".split()
        )
    },
    **{
        name: letter for name, letter in zip("Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega".split(), "ΓΔΘΛΞΠΣΦΨΩ")
    },
    **{"varepsilon": "ε", "vartheta": "ϑ", "varphi": "φ", "ell": "ℓ", "infty": "∞", "times": "×", "cdot": "·"},
    **{"pm": "±", "mp": "∓", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "approx": "≈", "sim": "~"},
    **{"uparrow": "↑", "downarrow": "↓", "rightarrow": "→", "to": "→", "leftarrow": "←", "circ": "°"},
    **{"dagger": "†", "ddagger": "‡", "ast": "*", "star": "*", "checkmark": "✓", "cmark": "✓", "xmark": "✗"},
}
_SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _latex_numbers(text: str) -> str:
    """Number forms that only LaTeX writes, as plain text: ``2.1\\times10^{-2}`` -> ``2.1e-2``,
    ``\\num{1.2e3}`` -> ``1.2e3``, ``1{,}234`` and ``1\\,234`` -> ``1,234`` / ``1234``."""
    text = re.sub(r"\\(?:num|SI|si|qty)(?:\[[^\]]*\])?\{([^}]*)\}(?:\{([^}]*)\})?", r"\1 \2", text)
    power = r"\$?\s*(?:\\times|\\cdot|×|x)\s*\$?\s*10\s*\$?\s*\^\s*\{?\s*([+-−]?\d+)\s*\}?\s*\$?"
    text = re.sub(r"(\d)\s*" + power, lambda m: f"{m.group(1)}e{m.group(2).replace('−', '-')}", text)
    text = re.sub(r"^\s*\$?\s*10\s*\^\s*\{?\s*([+-−]?\d+)\s*\}?\s*\$?\s*$", lambda m: f"1e{m.group(1)}", text)
    text = text.replace("{,}", ",").replace("{.}", ".")
    return re.sub(r"(?<=\d)\\[,;:!]\s*(?=\d)", "", text)  # thin-space thousands: 1\,234


def _clean(cell: str) -> str:
    text = _latex_numbers(cell.replace("\x00", ""))
    text = _MULTIROW.sub(r"\2", text)
    text = re.sub(r"\\(makecell|shortstack)(\[[^\]]*\])?", "", text)
    text = text.replace("\\\\", " ")  # line breaks inside \makecell{..}
    text = re.sub(
        r"\\(textbf|textit|emph|underline|mathbf|mathrm|mathit|mathcal|boldsymbol|bm|textrm|texttt|textsc|"
        r"text|uline|textsuperscript|cellcolor\{[^}]*\}|textcolor\{[^}]*\}|color\{[^}]*\})(?![a-zA-Z])",
        "",
        text,
    )
    text = re.sub(r"\\(bf|it|em|small|footnotesize|scriptsize|tiny|large|Large|normalsize)\b", "", text)
    text = re.sub(r"\\([a-zA-Z]+)(?![a-zA-Z])", lambda m: _SYMBOLS.get(m.group(1), m.group(0)), text)
    text = re.sub(r"\^\s*\{?\s*(\d)\s*\}?", lambda m: m.group(1).translate(_SUPERSCRIPT_DIGITS), text)  # R^2
    text = re.sub(r"\^\s*(\{[^}]*\}|\S)", r"\1", text)  # other superscripts: footnote marks (*, †, a)
    text = re.sub(r"(?<!\\)_\s*(\{[^}]*\}|\S)", r"\1", text)  # subscripts: F_1, 93.2_{±0.3}
    text = text.replace("\\%", "%").replace("\\&", "&").replace("\\_", "_").replace("~", " ").replace("\\#", "#")
    text = re.sub(r"\\[a-zA-Z]+\*?", "", text)  # any other macro name
    text = text.replace("$", "").replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()
