"""LaTeX ``tabular`` environments (as found in arXiv sources) -> pandas DataFrames.

Handles: ``&`` cells and ``\\\\`` rows (escaped ``\\&`` kept), comments, rules (``\\hline``,
``\\toprule``/``\\midrule``/``\\bottomrule``, ``\\cline``, ``\\cmidrule``), ``\\multicolumn`` (its
text fills the spanned cells of header rows; an empty cell elsewhere), ``\\multirow`` (its text),
formatting (``\\textbf``, ``\\textit``, ``\\emph``, ``\\underline``, ``{\\bf ..}``, ``$..$``, colour
macros), and numbers written as ``12.3 $\\pm$ 0.4``, ``12.3±0.4``, ``45.6\\%``, ``1,234``,
``3.2M`` or ``12ms`` (the leading value is kept; ``-``/``--``/``n/a`` become missing).

Header rows are the rows before the first rule that follows the first content row, or the first
row if there is no such rule; several header rows are joined with " / ". The first column holds the
row labels. A table that cannot be parsed raises ``TableParseError`` naming what is wrong; parsing
a document returns the good tables and the errors of the bad ones, so one broken table loses
nothing else.
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
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?")
_SCALE = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9}
_MISSING = {"", "-", "--", "---", "n/a", "na", "N/A", "NA", "—", "–", "x", "×", "?"}


class TableParseError(ValueError):
    """A tabular that cannot be turned into a table; the message says why."""


@dataclass
class ParsedTables:
    tables: list[pd.DataFrame]
    errors: list[str]


def parse_latex_tables(text: str) -> ParsedTables:
    """Every tabular in ``text``: the parsed ones, and one error message per broken one."""
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
        try:
            tables.append(parse_tabular(match.group(2), match.group(1)))
        except TableParseError as err:
            errors.append(f"tabular {index}: {err}")
    return ParsedTables(tables, errors)


def parse_tabular(body: str, environment: str = "tabular") -> pd.DataFrame:
    """One tabular body (what follows ``\\begin{tabular}``); the column spec is skipped."""
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
    data_rows = [r for r in data_rows if len(r) == width]  # single-cell rows are section titles
    if not data_rows:
        raise TableParseError("no data rows with the table's width")
    frame = pd.DataFrame([[_clean(c) for c in r] for r in data_rows], columns=header)
    frame = frame.loc[:, ~pd.Index(header).duplicated()]
    for column in frame.columns[1:]:
        numbers = frame[column].map(parse_number)
        if numbers.notna().sum() >= max(1, len(frame) // 2):
            frame[column] = numbers
    if not any(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns[1:]):
        raise TableParseError("no numeric column")
    return frame


def parse_number(cell: str) -> float:
    """``'12.3 ± 0.4'`` -> 12.3, ``'45.6%'`` -> 45.6, ``'1,234'`` -> 1234, ``'3.2M'`` -> 3.2e6."""
    text = str(cell).strip().replace("−", "-")
    if text in _MISSING:
        return np.nan
    text = re.split(r"±|\+/-|\+-", text)[0].strip()
    match = _NUMBER.match(text)
    if not match or not match.group(0) or match.group(0) in "+-":
        return np.nan
    value = float(match.group(0).replace(",", ""))
    rest = text[match.end() :].strip()
    if rest[:1] in _SCALE and (len(rest) == 1 or not rest[1].isalpha()):
        value *= _SCALE[rest[0]]
    return value


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


def _clean(cell: str) -> str:
    text = cell.replace("\x00", "")
    text = re.sub(r"\\multirow\{[^}]*\}\{[^}]*\}\{(.*)\}", r"\1", text, flags=re.S)
    text = re.sub(r"\$\\pm\$|\\pm", "±", text)
    text = re.sub(
        r"\\(textbf|textit|emph|underline|mathbf|mathrm|textrm|texttt|textsc|text|uline|"
        r"cellcolor\{[^}]*\}|textcolor\{[^}]*\}|color\{[^}]*\})",
        "",
        text,
    )
    text = re.sub(r"\\(bf|it|em|small|footnotesize|scriptsize|tiny|large)\b", "", text)
    text = text.replace("\\%", "%").replace("\\&", "&").replace("\\_", "_").replace("~", " ")
    text = re.sub(r"\\[a-zA-Z]+\*?", "", text)  # any other macro name
    text = text.replace("$", "").replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()
