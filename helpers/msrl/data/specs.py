"""Chart specifications sampled from a table: what to draw, independent of how the code is written.

A ``ChartSpec`` holds the chart type, the data taken from the table (rounded to 3 significant
digits so that the code stays short), titles and axis labels taken from the table's own names, and
a style (palette, markers, line styles, grid, legend position, annotations, font sizes, figure
size) plus the code style the emitter will use (msrl.data.emit). Sampling is deterministic given the
``random.Random`` passed in.

Sixteen chart types cover ChartMimic's common families: bar, grouped_bar, stacked_bar, barh, line,
area, scatter, pie, donut, hist, box, violin, heatmap, errorbar, radar and subplots (a 1x2, 2x1 or
2x2 grid of simpler panels). Seaborn is used for the types it draws natively.

Departure from the paper: it asked an LLM to write code for each arXiv table; we sample specs
programmatically and emit code from templates with many style variants.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field

import numpy as np

from msrl.data.tables import Table
from msrl.presets import DATA_STYLES  # noqa: F401 (re-exported: the styles emit knows)

CHART_TYPES = (
    "bar",
    "grouped_bar",
    "stacked_bar",
    "barh",
    "line",
    "area",
    "scatter",
    "pie",
    "donut",
    "hist",
    "box",
    "violin",
    "heatmap",
    "errorbar",
    "radar",
    "subplots",
)
SEABORN_TYPES = {"bar", "barh", "line", "scatter", "hist", "box", "violin", "heatmap"}
PANEL_TYPES = ("bar", "barh", "line", "scatter", "hist", "area", "pie")

PALETTES = {
    "tab10": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"],
    "pastel": ["#a1c9f4", "#ffb482", "#8de5a1", "#ff9f9b", "#d0bbff", "#debb9b", "#fab0e4", "#cfcfcf"],
    "dark": ["#001c7f", "#b1400d", "#12711c", "#8c0800", "#591e71", "#592f0d", "#a23582", "#3c3c3c"],
    "named": ["steelblue", "darkorange", "seagreen", "crimson", "slateblue", "goldenrod", "teal", "gray"],
    "earth": ["#8c510a", "#bf812d", "#dfc27d", "#80cdc1", "#35978f", "#01665e", "#543005", "#003c30"],
    "vivid": ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45"],
}
CMAPS = ("viridis", "plasma", "coolwarm", "Blues", "YlGnBu", "magma", "RdBu_r", "Greens")
MARKERS = ("o", "s", "^", "D", "v", "*", "x", "+")
LINESTYLES = ("-", "--", "-.", ":")
LEGEND_LOCS = ("best", "upper left", "upper right", "lower right", "lower left", "center right")
FIGSIZES = ((6, 4), (7, 4), (8, 5), (6, 5), (5, 4), (8, 4), (7, 5))


@dataclass
class ChartSpec:
    chart_type: str
    library: str  # "matplotlib" or "seaborn"
    title: str
    xlabel: str = ""
    ylabel: str = ""
    categories: list[str] = field(default_factory=list)  # bar/pie/box groups/radar axes/heatmap cols
    x: list[float] = field(default_factory=list)  # numeric x for line/area/scatter
    series: dict[str, list[float]] = field(default_factory=dict)  # name -> values (or samples)
    errors: dict[str, list[float]] = field(default_factory=dict)  # name -> error bar sizes
    rows: list[str] = field(default_factory=list)  # heatmap row labels
    panels: list[ChartSpec] = field(default_factory=list)  # subplots
    grid: tuple[int, int] = (1, 1)
    style: dict = field(default_factory=dict)
    table_id: str = ""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ChartSpec:
        data = json.loads(text)
        data["panels"] = [cls.from_json(json.dumps(p)) for p in data.get("panels", [])]
        data["grid"] = tuple(data.get("grid", (1, 1)))
        return cls(**data)


class SpecError(ValueError):
    """The table cannot feed this chart type (the builder tries another table)."""


@dataclass(frozen=True)
class Limits:
    """How much data one chart carries (long value lists make long programs)."""

    max_points: int = 40  # scatter points / line x values
    max_samples: int = 40  # histogram values / box and violin samples per group
    data_styles: tuple[str, ...] = DATA_STYLES  # how programs spell their data (see emit.py)
    plan_comment: bool = False  # programs open with "# chart type: bar" (see emit.py)

    def __post_init__(self):
        unknown = set(self.data_styles) - set(DATA_STYLES)
        if unknown or not self.data_styles:  # emit would silently fall back to lists
            raise ValueError(f"data_styles must be a non-empty subset of {DATA_STYLES}, got {self.data_styles}")


def _r(value: float) -> float:
    """3 significant digits: short code, still the table's numbers."""
    value = float(value)
    return 0.0 if value == 0 or not np.isfinite(value) else float(f"{value:.3g}")


def _rs(values) -> list[float]:
    return [_r(v) for v in values]


def _categories(table: Table, rng: random.Random, columns: list[str], max_k: int):
    """(category labels, {column: values}) aggregated by the label column (mean), or None."""
    frame = table.frame
    if table.label is None:
        return None
    grouped = frame.groupby(table.label, sort=False)[columns].mean()
    if len(grouped) < 2:
        return None
    if len(grouped) > max_k:
        start = rng.randint(0, len(grouped) - max_k)
        grouped = grouped.iloc[start : start + max_k]
    labels = [str(c)[:16] for c in grouped.index]
    if len(set(labels)) != len(labels):
        return None
    return labels, {c: _rs(grouped[c]) for c in columns}


def _pick(rng: random.Random, items, k: int):
    return rng.sample(list(items), min(k, len(items)))


def _style(rng: random.Random, chart_type: str, n_series: int, data_styles=DATA_STYLES) -> dict:
    palette_name = rng.choice(list(PALETTES))
    return {
        "palette": palette_name,
        "colors": PALETTES[palette_name][: max(1, n_series)],
        "cmap": rng.choice(CMAPS),
        "marker": rng.choice(MARKERS) if rng.random() < 0.6 else "",
        "linestyle": rng.choice(LINESTYLES),
        "grid": rng.random() < 0.5,
        "legend_loc": rng.choice(LEGEND_LOCS),
        "title_size": rng.choice([None, 12, 14, 16]),
        "figsize": list(rng.choice(FIGSIZES)),
        "annotate": rng.random() < 0.3,
        "rotation": rng.choice([0, 0, 30, 45]),
        "api": rng.choice(["pyplot", "oo"]),  # plt.bar(...) or fig, ax = plt.subplots()
        "data_style": rng.choice(data_styles),  # lists, np.array or one tuple per category
        "loop": rng.random() < 0.5,  # one call per series in a loop, or repeated
        "alpha": rng.choice([None, 0.7, 0.8]),
        "bins": rng.choice([10, 15, 20, 30]),
        "width": rng.choice([0.35, 0.4, 0.25]),
        "tight": rng.random() < 0.7,
    }


def sample_spec(
    table: Table, chart_type: str, rng: random.Random, library: str | None = None, limits: Limits = Limits()
) -> ChartSpec:
    """A spec of ``chart_type`` from ``table``; raises SpecError if the table cannot feed it."""
    if chart_type not in CHART_TYPES:
        raise ValueError(f"unknown chart type {chart_type!r}")
    if library is None:
        library = "seaborn" if chart_type in SEABORN_TYPES and rng.random() < 0.4 else "matplotlib"
    if chart_type == "subplots":
        return _subplots(table, rng, limits)
    spec = _SAMPLERS[chart_type](table, rng, limits)
    spec.library = library if chart_type in SEABORN_TYPES else "matplotlib"
    spec.table_id = table.id
    spec.style = _style(
        rng,
        chart_type,
        max(len(spec.series), len(spec.categories) if chart_type in ("pie", "donut") else 1),
        limits.data_styles,
    )
    spec.style["plan_comment"] = limits.plan_comment
    return spec


def _bar_like(table, rng, chart_type, n_series):
    columns = _pick(rng, table.numeric, n_series)
    grouped = _categories(table, rng, columns, max_k=rng.randint(3, 10))
    if grouped is None:
        # no label column: one bar per numeric column (its mean)
        if chart_type not in ("bar", "barh") or len(table.numeric) < 2:
            raise SpecError(f"{table.id}: no category column for {chart_type}")
        columns = table.numeric[:8]
        labels = [c[:16] for c in columns]
        series = {"Mean": _rs(table.frame[columns].mean())}
        return ChartSpec(chart_type, "matplotlib", table.title, "", "Mean value", categories=labels, series=series)
    labels, series = grouped
    ylabel = columns[0] if len(columns) == 1 else "Value"
    return ChartSpec(chart_type, "matplotlib", table.title, table.label, ylabel, categories=labels, series=series)


def _bar(table, rng, lim):
    return _bar_like(table, rng, "bar", 1)


def _barh(table, rng, lim):
    spec = _bar_like(table, rng, "barh", 1)
    spec.xlabel, spec.ylabel = spec.ylabel, spec.xlabel
    return spec


def _grouped(table, rng, lim, chart_type):
    if len(table.numeric) < 2:
        raise SpecError(f"{table.id}: {chart_type} needs 2 numeric columns")
    spec = _bar_like(table, rng, chart_type, rng.randint(2, 4))
    if len(spec.series) < 2:
        raise SpecError(f"{table.id}: {chart_type} needs 2 series")
    if chart_type == "stacked_bar" and any(v < 0 for vals in spec.series.values() for v in vals):
        raise SpecError(f"{table.id}: negative values cannot be stacked")
    return spec


def _ordered_x(table, rng, n_series, max_points):
    """x values in order (a year-like label or the first numeric column) and y series."""
    frame = table.frame
    if table.label is not None and frame[table.label].str.fullmatch(r"\d{4}").all():
        columns = _pick(rng, table.numeric, n_series)
        grouped = frame.groupby(table.label)[columns].mean().sort_index()
        x = [float(v) for v in grouped.index]
        xlabel = table.label
        series = {c: _rs(grouped[c]) for c in columns}
    else:
        if len(table.numeric) < 2:
            raise SpecError(f"{table.id}: needs an ordered x column")
        xcol = table.numeric[0]
        columns = _pick(rng, table.numeric[1:], n_series)
        grouped = frame.groupby(xcol)[columns].mean().sort_index()
        x, xlabel = _rs(grouped.index), xcol
        series = {c: _rs(grouped[c]) for c in columns}
    if len(x) < 3:
        raise SpecError(f"{table.id}: fewer than 3 x values")
    if len(x) > max_points:
        step = int(np.ceil(len(x) / max_points))
        x = x[::step]
        series = {k: v[::step] for k, v in series.items()}
    return x, xlabel, series


def _line(table, rng, lim):
    x, xlabel, series = _ordered_x(table, rng, rng.randint(1, 3), lim.max_points)
    ylabel = next(iter(series)) if len(series) == 1 else "Value"
    return ChartSpec("line", "matplotlib", table.title, xlabel, ylabel, x=x, series=series)


def _area(table, rng, lim):
    x, xlabel, series = _ordered_x(table, rng, rng.randint(1, 3), lim.max_points)
    if any(v < 0 for vals in series.values() for v in vals):
        raise SpecError(f"{table.id}: negative values in an area chart")
    ylabel = next(iter(series)) if len(series) == 1 else "Value"
    return ChartSpec("area", "matplotlib", table.title, xlabel, ylabel, x=x, series=series)


def _scatter(table, rng, lim):
    if len(table.numeric) < 2:
        raise SpecError(f"{table.id}: scatter needs 2 numeric columns")
    xcol, ycol = _pick(rng, table.numeric, 2)
    frame = table.frame.head(rng.randint(max(5, lim.max_points // 3), lim.max_points))
    return ChartSpec(
        "scatter", "matplotlib", table.title, xcol, ycol, x=_rs(frame[xcol]), series={ycol: _rs(frame[ycol])}
    )


def _pie(table, rng, lim, chart_type="pie"):
    column = rng.choice(table.numeric)
    grouped = _categories(table, rng, [column], max_k=rng.randint(3, 7))
    if grouped is None:
        raise SpecError(f"{table.id}: pie needs a category column")
    labels, series = grouped
    if any(v <= 0 for v in series[column]):
        raise SpecError(f"{table.id}: pie needs positive values")
    return ChartSpec(chart_type, "matplotlib", table.title, "", "", categories=labels, series=series)


def _donut(table, rng, lim):
    return _pie(table, rng, lim, "donut")


def _samples(table, rng, max_groups, per_group):
    """{group: samples} of one numeric column, per label group or per column."""
    column = rng.choice(table.numeric)
    frame = table.frame
    if table.label is not None and 2 <= frame[table.label].nunique():
        groups = {str(k)[:16]: _rs(v[column].head(per_group)) for k, v in frame.groupby(table.label, sort=False)}
        groups = {k: v for k, v in groups.items() if len(v) >= 3}
        groups = dict(list(groups.items())[:max_groups])
        if len(groups) >= 2:
            return groups, table.label, column
    columns = table.numeric[:max_groups]
    if len(columns) < 2:
        raise SpecError(f"{table.id}: needs groups of samples")
    return {c[:16]: _rs(frame[c].head(per_group)) for c in columns}, "", "Value"


def _hist(table, rng, lim):
    column = rng.choice(table.numeric)
    values = _rs(table.frame[column].head(lim.max_samples * 3))
    if len(set(values)) < 5:
        raise SpecError(f"{table.id}: too few distinct values for a histogram")
    return ChartSpec("hist", "matplotlib", table.title, column, "Count", series={column: values})


def _box(table, rng, lim, chart_type="box"):
    groups, xlabel, ylabel = _samples(table, rng, rng.randint(2, 5), lim.max_samples)
    return ChartSpec(chart_type, "matplotlib", table.title, xlabel, ylabel, categories=list(groups), series=groups)


def _violin(table, rng, lim):
    return _box(table, rng, lim, "violin")


def _heatmap(table, rng, lim):
    if len(table.numeric) < 3:
        raise SpecError(f"{table.id}: heatmap needs 3 numeric columns")
    columns = table.numeric[: rng.randint(3, 6)]
    if rng.random() < 0.5 or table.label is None:
        matrix = table.frame[columns].corr().round(2)
        if matrix.isna().any().any():
            raise SpecError(f"{table.id}: constant column in a correlation heatmap")
        rows, title = [c[:12] for c in columns], f"Correlation: {table.title}"[:60]
        series = {c[:12]: [float(v) for v in matrix[c]] for c in columns}
    else:
        grouped = _categories(table, rng, columns, max_k=rng.randint(3, 8))
        if grouped is None:
            raise SpecError(f"{table.id}: heatmap needs rows")
        rows, values = grouped
        series, title = {c[:12]: values[c] for c in columns}, table.title
    return ChartSpec("heatmap", "matplotlib", title, "", "", categories=list(series), rows=rows, series=series)


def _errorbar(table, rng, lim):
    column = rng.choice(table.numeric)
    if table.label is None:
        raise SpecError(f"{table.id}: errorbar needs groups")
    measured = [c for c in table.numeric if table.error_column(c)]
    if measured:  # the table states its uncertainties (``93.2 ± 0.3`` cells): draw those
        column = rng.choice(measured)
        rows = table.frame.head(rng.randint(3, 8))
        labels, means, spreads = rows[table.label], rows[column], rows[table.error_column(column)]
    else:  # one group per label value: its mean and standard deviation
        stats = table.frame.groupby(table.label, sort=False)[column].agg(["mean", "std"]).dropna()
        stats = stats.head(rng.randint(3, 8))
        if len(stats) < 3:
            raise SpecError(f"{table.id}: errorbar needs 3 groups with spread")
        labels, means, spreads = stats.index, stats["mean"], stats["std"]
    return ChartSpec(
        "errorbar",
        "matplotlib",
        table.title,
        table.label,
        column,
        categories=[str(c)[:16] for c in labels],
        series={column: _rs(means)},
        errors={column: _rs(spreads)},
    )


def _radar(table, rng, lim):
    if len(table.numeric) < 3:
        raise SpecError(f"{table.id}: radar needs 3 numeric columns")
    axes = table.numeric[: rng.randint(3, 7)]
    grouped = _categories(table, rng, axes, max_k=rng.randint(1, 3))
    frame = table.frame[axes]
    scale = frame.abs().max().replace(0, 1)
    if grouped is None:
        series = {"Mean": _rs(frame.mean() / scale)}
    else:
        labels, _ = grouped
        means = (
            table.frame.groupby(table.label)[axes]
            .mean()
            .loc[[label for label in labels if label in table.frame[table.label].values]]
        )
        series = {str(k)[:16]: _rs(row / scale) for k, row in means.iterrows()}
    if not series:
        raise SpecError(f"{table.id}: radar has no series")
    return ChartSpec("radar", "matplotlib", table.title, "", "", categories=[a[:14] for a in axes], series=series)


def _subplots(table, rng, lim):
    grid = rng.choice([(1, 2), (2, 1), (2, 2)])
    panels = []
    for chart_type in rng.sample(PANEL_TYPES, len(PANEL_TYPES)):
        if len(panels) == grid[0] * grid[1]:
            break
        try:
            panel = _SAMPLERS[chart_type](table, rng, lim)
        except SpecError:
            continue
        panel.title = (panel.ylabel or panel.xlabel or chart_type.title())[:30]
        panels.append(panel)
    if len(panels) < grid[0] * grid[1]:
        raise SpecError(f"{table.id}: not enough panels for a {grid} grid")
    spec = ChartSpec("subplots", "matplotlib", table.title, panels=panels, grid=grid, table_id=table.id)
    spec.style = _style(rng, "subplots", 3, lim.data_styles)
    spec.style["api"] = "oo"
    spec.style["figsize"] = [4 * grid[1] + 1, 3 * grid[0] + 1]
    spec.style["plan_comment"] = lim.plan_comment
    return spec


_SAMPLERS = {
    "bar": _bar,
    "barh": _barh,
    "grouped_bar": lambda t, r, lim: _grouped(t, r, lim, "grouped_bar"),
    "stacked_bar": lambda t, r, lim: _grouped(t, r, lim, "stacked_bar"),
    "line": _line,
    "area": _area,
    "scatter": _scatter,
    "pie": _pie,
    "donut": _donut,
    "hist": _hist,
    "box": _box,
    "violin": _violin,
    "heatmap": _heatmap,
    "errorbar": _errorbar,
    "radar": _radar,
}
