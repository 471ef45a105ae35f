"""Code emitters: a ChartSpec -> a matplotlib or seaborn program that draws it.

Code styles vary with the spec's style: pyplot (``plt.bar``, ``plt.title``) or object-oriented
(``fig, ax = plt.subplots()``, ``ax.set_title``); data as explicit lists, numpy arrays or records
(one tuple per category, unzipped into columns); one call per series in a loop or repeated calls;
seaborn's functions for the types it draws. Output is deterministic given the spec, and always ends
with ``plt.show()`` like ChartMimic's programs.

Departure (``plan_comment``, the small preset): a program may open with ``# chart type: bar``. A
model trained from scratch otherwise meets its first image-dependent choice deep in the data lines,
where the text so far predicts the rest and the image is ignored (the small SFT model drew the same
chart for every input). The comment makes the chart type the first thing written, predictable only
from the image. It does not change what the program draws, and the metrics ignore comments.
"""

from __future__ import annotations

from msrl.data.specs import ChartSpec

PLAN_PREFIX = "# chart type:"  # the plan comment's first words (``plan_comment``)
PYPLOT_NAMES = {
    "set_title": "title",
    "set_xlabel": "xlabel",
    "set_ylabel": "ylabel",
    "set_xticks": "xticks",
    "set_yticks": "yticks",
    "set_xlim": "xlim",
    "set_ylim": "ylim",
}


def _num(value: float) -> str:
    text = format(float(value), ".6g")
    return text if any(c in text for c in ".en") else text + ".0" if "inf" not in text else text


def _list(values) -> str:
    return "[" + ", ".join(_num(v) for v in values) + "]"


def _strs(values) -> str:
    return "[" + ", ".join(repr(str(v)) for v in values) + "]"


class _Code:
    """Collects lines; knows the drawing target (``plt``, ``ax`` or ``axes[i]``) and imports."""

    def __init__(self, spec: ChartSpec, target: str, suffix: str = "", setup: str | None = None):
        self.spec, self.style, self.target, self.suffix = spec, spec.style, target, suffix
        self.setup = setup  # the figure set-up line(s), placed where the drawing begins
        self.lines: list[str] = []
        self.numpy = self.seaborn = False

    def begin(self) -> None:
        """Data definitions end here: create the figure (once; panels share their figure)."""
        if self.setup is not None:
            self.add("")
            self.lines.extend(self.setup.splitlines())
            self.setup = None

    def var(self, name: str) -> str:
        return name + self.suffix

    def add(self, line: str = "") -> None:
        self.lines.append(line)

    def call(self, method: str, args: str) -> None:
        if self.target == "plt":
            self.add(f"plt.{PYPLOT_NAMES.get(method, method)}({args})")
        else:
            self.add(f"{self.target}.{method}({args})")

    def data(self, name: str, values, strings: bool = False) -> str:
        var = self.var(name)
        if strings:
            self.add(f"{var} = {_strs(values)}")
        elif self.style.get("data_style") == "numpy":
            self.numpy = True
            self.add(f"{var} = np.array({_list(values)})")
        else:
            self.add(f"{var} = {_list(values)}")
        return var

    def table(self, columns: list[tuple[str, list, bool]]) -> list[str]:
        """Equally long columns (name, values, strings?) -> their variable names. The records style
        writes one tuple per category and unzips it: a tiny model that writes separate lists often
        makes them disagree in length (the commonest crash of our small SFT model), and a row is
        local, so lengths cannot disagree. Other styles write one list per column."""
        if self.style.get("data_style") != "records":
            return [self.data(name, values, strings) for name, values, strings in columns]
        rows = self.var("rows")
        self.add(f"{rows} = [")
        for row in zip(*(values for _, values, _ in columns)):
            cells = [repr(str(v)) if strings else _num(v) for v, (_, _, strings) in zip(row, columns)]
            self.add(f"    ({', '.join(cells)}),")
        self.add("]")
        names = [self.var(name) for name, _, _ in columns]
        self.add(f"{', '.join(names)} = zip(*{rows})")
        return names

    def ax_kw(self) -> str:
        return "" if self.target == "plt" else f", ax={self.target}"


def emit(spec: ChartSpec) -> str:
    """The program that draws ``spec``."""
    style = spec.style
    target = "plt" if style.get("api") == "pyplot" else "ax"
    figsize = f"figsize=({style['figsize'][0]}, {style['figsize'][1]})"
    if spec.chart_type == "radar":
        target = "ax"
        setup = (
            f"fig, ax = plt.subplots({figsize}, subplot_kw=dict(polar=True))"
            if style.get("api") == "oo"
            else f"plt.figure({figsize})\nax = plt.subplot(111, polar=True)"
        )
    elif target == "plt":
        setup = f"plt.figure({figsize})"
    else:
        setup = f"fig, ax = plt.subplots({figsize})"
    body = _Code(spec, target, setup=setup)
    if spec.chart_type == "subplots":
        _subplots(body)
    else:
        DRAWERS[spec.chart_type](body, spec)
        _decorate(body, spec)
    if style.get("tight", True):
        body.add("plt.tight_layout()")
    body.add("plt.show()")
    imports = ["import matplotlib.pyplot as plt"]
    if body.numpy:
        imports.append("import numpy as np")
    if body.seaborn:
        imports.append("import seaborn as sns")
    plan = f"{PLAN_PREFIX} {spec.chart_type}\n" if style.get("plan_comment") else ""
    return plan + "\n".join(imports) + "\n\n" + "\n".join(body.lines) + "\n"


def _decorate(code: _Code, spec: ChartSpec) -> None:
    style = spec.style
    size = f", fontsize={style['title_size']}" if style.get("title_size") else ""
    code.call("set_title", f"{spec.title!r}{size}")
    if spec.xlabel:
        code.call("set_xlabel", repr(spec.xlabel))
    if spec.ylabel:
        code.call("set_ylabel", repr(spec.ylabel))
    multi = len(spec.series) > 1 and spec.chart_type not in ("box", "violin", "heatmap", "pie", "donut")
    if multi or (spec.chart_type == "radar" and len(spec.series) > 1):
        code.call("legend", f"loc={style['legend_loc']!r}")
    if style.get("grid") and spec.chart_type not in ("pie", "donut", "heatmap", "radar"):
        code.call("grid", "True, linestyle='--', alpha=0.5")
    if style.get("rotation") and spec.chart_type in ("bar", "grouped_bar", "stacked_bar", "box", "violin", "errorbar"):
        if code.target == "plt":
            code.add(f"plt.xticks(rotation={style['rotation']})")
        else:
            code.add(f"{code.target}.tick_params(axis='x', rotation={style['rotation']})")


def _colors(code: _Code, n: int) -> list[str]:
    colors = code.style["colors"]
    return [colors[i % len(colors)] for i in range(n)]


def _opt(code: _Code) -> str:
    alpha = code.style.get("alpha")
    return f", alpha={alpha}" if alpha else ""


# ---------------------------------------------------------------------------------------------- types


def _bar(code: _Code, spec: ChartSpec, horizontal: bool = False) -> None:
    ((name, values),) = spec.series.items()
    cats, vals = code.table([("categories", spec.categories, True), ("values", values, False)])
    color = _colors(code, 1)[0]
    code.begin()
    if spec.library == "seaborn":
        code.seaborn = True
        xy = f"x={vals}, y={cats}, orient='h'" if horizontal else f"x={cats}, y={vals}"
        code.add(f"sns.barplot({xy}, color={color!r}{code.ax_kw()})")
        return
    method = "barh" if horizontal else "bar"
    bars = code.var("bars")
    code.add(f"{bars} = {code.target}.{method}({cats}, {vals}, color={color!r}{_opt(code)})")
    if code.style.get("annotate"):
        if code.target == "plt":
            code.add(f"plt.bar_label({bars})")
        else:
            code.add(f"{code.target}.bar_label({bars})")


def _grouped(code: _Code, spec: ChartSpec, stacked: bool = False) -> None:
    code.numpy = True
    names = list(spec.series)
    colors = _colors(code, len(names))
    x = code.var("x")
    width = code.style.get("width", 0.35) if not stacked else 0.6
    k = len(names)
    if code.style.get("loop") and code.style.get("data_style") != "records":
        cats = code.data("categories", spec.categories, strings=True)
        code.add(f"{x} = np.arange(len({cats}))")
        code.add(f"{code.var('data')} = {{")
        for name in names:
            code.add(f"    {name!r}: {_list(spec.series[name])},")
        code.add("}")
        code.add(f"{code.var('colors')} = {colors!r}")
        code.begin()
        if stacked:
            code.add(f"{code.var('bottom')} = np.zeros(len({cats}))")
            code.add(f"for (label, vals), color in zip({code.var('data')}.items(), {code.var('colors')}):")
            code.add(
                f"    {code.target}.bar({x}, vals, {width}, bottom={code.var('bottom')}, label=label, color=color)"
            )
            code.add(f"    {code.var('bottom')} += np.array(vals)")
        else:
            code.add(f"width = {width}")
            code.add(
                f"for i, ((label, vals), color) in enumerate(zip({code.var('data')}.items(), {code.var('colors')})):"
            )
            code.add(f"    {code.target}.bar({x} + (i - {(k - 1) / 2}) * width, vals, width, label=label, color=color)")
    else:
        cats, *series_vars = code.table(
            [("categories", spec.categories, True)]
            + [(f"values{i + 1}_", spec.series[n], False) for i, n in enumerate(names)]
        )
        code.add(f"{x} = np.arange(len({cats}))")
        code.begin()
        if stacked:
            bottom = None
            for var, name, color in zip(series_vars, names, colors):
                extra = f", bottom={bottom}" if bottom else ""
                code.add(f"{code.target}.bar({x}, {var}, {width}{extra}, label={name!r}, color={color!r})")
                bottom = f"np.array({var})" if bottom is None else f"{bottom} + np.array({var})"
        else:
            for i, (var, name, color) in enumerate(zip(series_vars, names, colors)):
                offset = (i - (k - 1) / 2) * width
                code.add(f"{code.target}.bar({x} + {_num(offset)}, {var}, {width}, label={name!r}, color={color!r})")
    code.call("set_xticks", f"{x}, {cats}")


def _xy_series(code: _Code, spec: ChartSpec) -> tuple[str, list[tuple[str, str, str]]]:
    names = list(spec.series)
    colors = _colors(code, len(names))
    y_names = ["y"] if len(names) == 1 else [f"y{i + 1}_" for i in range(len(names))]
    x, *ys = code.table([("x", spec.x, False)] + [(y, spec.series[n], False) for y, n in zip(y_names, names)])
    return x, list(zip(ys, names, colors))


def _line(code: _Code, spec: ChartSpec) -> None:
    x, series = _xy_series(code, spec)
    marker = f", marker={code.style['marker']!r}" if code.style.get("marker") else ""
    linestyle = f", linestyle={code.style['linestyle']!r}" if code.style.get("linestyle", "-") != "-" else ""
    label = len(series) > 1
    code.begin()
    for var, name, color in series:
        lab = f", label={name!r}" if label else ""
        if spec.library == "seaborn":
            code.seaborn = True
            code.add(f"sns.lineplot(x={x}, y={var}{marker}{linestyle}, color={color!r}{lab}{code.ax_kw()})")
        else:
            code.add(f"{code.target}.plot({x}, {var}{marker}{linestyle}, color={color!r}{lab})")


def _area(code: _Code, spec: ChartSpec) -> None:
    x, series = _xy_series(code, spec)
    code.begin()
    if len(series) > 1 and code.style.get("loop"):
        ys = ", ".join(var for var, _, _ in series)
        labels = [name for _, name, _ in series]
        colors = [color for _, _, color in series]
        code.add(f"{code.target}.stackplot({x}, {ys}, labels={labels!r}, colors={colors!r}, alpha=0.8)")
        return
    for var, name, color in series:
        lab = f", label={name!r}" if len(series) > 1 else ""
        code.add(f"{code.target}.fill_between({x}, {var}, color={color!r}, alpha=0.4{lab})")
        code.add(f"{code.target}.plot({x}, {var}, color={color!r})")


def _scatter(code: _Code, spec: ChartSpec) -> None:
    x, series = _xy_series(code, spec)
    ((var, _, color),) = series
    marker = code.style.get("marker") or "o"
    code.begin()
    if spec.library == "seaborn":
        code.seaborn = True
        code.add(f"sns.scatterplot(x={x}, y={var}, color={color!r}, marker={marker!r}{_opt(code)}{code.ax_kw()})")
    else:
        code.add(f"{code.target}.scatter({x}, {var}, color={color!r}, marker={marker!r}{_opt(code)})")


def _pie(code: _Code, spec: ChartSpec, donut: bool = False) -> None:
    ((_, values),) = spec.series.items()
    labels, sizes = code.table([("labels", spec.categories, True), ("sizes", values, False)])
    colors = _colors(code, len(values))
    wedge = ", wedgeprops=dict(width=0.4)" if donut else ""
    pct = ", autopct='%1.1f%%'" if code.style.get("annotate") or not donut else ""
    code.begin()
    code.add(f"{code.target}.pie({sizes}, labels={labels}, colors={colors!r}{pct}, startangle=90{wedge})")
    if code.target == "plt":
        code.add("plt.axis('equal')")
    else:
        code.add(f"{code.target}.axis('equal')")


def _hist(code: _Code, spec: ChartSpec) -> None:
    ((_, values),) = spec.series.items()
    data = code.data("data", values)
    color = _colors(code, 1)[0]
    bins = code.style.get("bins", 20)
    code.begin()
    if spec.library == "seaborn":
        code.seaborn = True
        code.add(f"sns.histplot({data}, bins={bins}, color={color!r}{code.ax_kw()})")
    else:
        code.add(f"{code.target}.hist({data}, bins={bins}, color={color!r}, edgecolor='black'{_opt(code)})")


def _groups(code: _Code, spec: ChartSpec) -> tuple[str, str]:
    data = code.var("data")
    if code.style.get("data_style") == "records":  # one entry per group: labels cannot outnumber groups
        groups, labels = code.var("groups"), code.var("labels")
        code.add(f"{groups} = {{")
        for name in spec.categories:
            code.add(f"    {str(name)!r}: {_list(spec.series[name])},")
        code.add("}")
        code.add(f"{labels}, {data} = list({groups}), list({groups}.values())")
        code.begin()
        return labels, data
    labels = code.data("labels", spec.categories, strings=True)
    code.add(f"{data} = [")
    for name in spec.categories:
        code.add(f"    {_list(spec.series[name])},")
    code.add("]")
    code.begin()
    return labels, data


def _distribution(code: _Code, spec: ChartSpec, violin: bool = False) -> None:
    """Box plots and violin plots: one group of samples per category."""
    labels, data = _groups(code, spec)
    colors = _colors(code, len(spec.categories))
    if spec.library == "seaborn":
        code.seaborn = True
        code.add(f"sns.{'violinplot' if violin else 'boxplot'}(data={data}, palette={colors!r}{code.ax_kw()})")
        code.call("set_xticks", f"range(len({labels})), {labels}")
        return
    artists = code.var("parts" if violin else "box")
    if violin:
        code.add(f"{artists} = {code.target}.violinplot({data}, showmeans=True)")
    else:
        code.add(f"{artists} = {code.target}.boxplot({data}, tick_labels={labels}, patch_artist=True)")
    code.add(f"for patch, color in zip({artists}[{'bodies' if violin else 'boxes'!r}], {colors!r}):")
    code.add("    patch.set_facecolor(color)")
    if violin:  # violinplot has no tick_labels argument
        code.call("set_xticks", f"range(1, len({labels}) + 1), {labels}")


def _heatmap(code: _Code, spec: ChartSpec) -> None:
    rows = code.data("rows", spec.rows, strings=True)
    cols = code.data("columns", spec.categories, strings=True)
    matrix = code.var("matrix")
    code.add(f"{matrix} = [")
    for r in range(len(spec.rows)):
        code.add(f"    {_list([spec.series[c][r] for c in spec.categories])},")
    code.add("]")
    cmap = code.style.get("cmap", "viridis")
    annotate = code.style.get("annotate") or len(spec.rows) * len(spec.categories) <= 25
    code.begin()
    if spec.library == "seaborn":
        code.seaborn = True
        annot = ", annot=True, fmt='.2f'" if annotate else ""
        code.add(f"sns.heatmap({matrix}, xticklabels={cols}, yticklabels={rows}, cmap={cmap!r}{annot}{code.ax_kw()})")
        return
    image = code.var("im")
    target = "plt" if code.target == "plt" else code.target
    code.add(f"{image} = {target}.imshow({matrix}, cmap={cmap!r}, aspect='auto')")
    code.add(f"plt.colorbar({image})" if target == "plt" else f"plt.colorbar({image}, ax={target})")
    code.call("set_xticks", f"range(len({cols})), {cols}")
    code.call("set_yticks", f"range(len({rows})), {rows}")
    if annotate:
        code.add(f"for i in range(len({rows})):")
        code.add(f"    for j in range(len({cols})):")
        code.add(f"        {target}.text(j, i, {matrix}[i][j], ha='center', va='center', color='w')")


def _errorbar(code: _Code, spec: ChartSpec) -> None:
    ((name, means),) = spec.series.items()
    cats, mean, err = code.table(
        [("categories", spec.categories, True), ("means", means, False), ("errors", spec.errors[name], False)]
    )
    color = _colors(code, 1)[0]
    fmt = {"-": "o-", "--": "s--", "-.": "^-.", ":": "o"}[code.style.get("linestyle", "-")]
    code.begin()
    code.add(f"{code.target}.errorbar({cats}, {mean}, yerr={err}, fmt={fmt!r}, capsize=4, color={color!r})")


def _radar(code: _Code, spec: ChartSpec) -> None:
    code.numpy = True
    names = list(spec.series)
    colors = _colors(code, len(names))
    labels, *values = code.table(
        [("labels", spec.categories, True)] + [(f"values{i + 1}_", spec.series[n], False) for i, n in enumerate(names)]
    )
    angles = code.var("angles")
    code.add(f"{angles} = np.linspace(0, 2 * np.pi, len({labels}), endpoint=False).tolist()")
    code.add(f"{angles} += {angles}[:1]")
    for var in values:  # close the polygon
        code.add(f"{var} = list({var}) + list({var})[:1]")
    code.begin()
    for var, name, color in zip(values, names, colors):
        code.add(f"ax.plot({angles}, {var}, color={color!r}, linewidth=2, label={name!r})")
        code.add(f"ax.fill({angles}, {var}, color={color!r}, alpha=0.25)")
    code.add(f"ax.set_xticks({angles}[:-1])")
    code.add(f"ax.set_xticklabels({labels})")


def _subplots(code: _Code) -> None:
    spec = code.spec
    rows, cols = spec.grid
    figsize = f"figsize=({spec.style['figsize'][0]}, {spec.style['figsize'][1]})"
    code.setup = None
    code.add(f"fig, axes = plt.subplots({rows}, {cols}, {figsize})")
    if rows > 1 and cols > 1:
        code.add("axes = axes.flatten()")
    for i, panel in enumerate(spec.panels):
        panel.style = {
            **spec.style,
            "colors": spec.style["colors"][i % len(spec.style["colors"]) :] + spec.style["colors"],
            "api": "oo",
            "title_size": None,
            "rotation": 0,
        }
        sub = _Code(panel, f"axes[{i}]", suffix=str(i + 1))
        code.add("")
        DRAWERS[panel.chart_type](sub, panel)
        _decorate(sub, panel)
        code.lines.extend(sub.lines)
        code.numpy |= sub.numpy
        code.seaborn |= sub.seaborn
    code.add(f"fig.suptitle({spec.title!r})")


DRAWERS = {
    "bar": _bar,
    "barh": lambda c, s: _bar(c, s, horizontal=True),
    "grouped_bar": _grouped,
    "stacked_bar": lambda c, s: _grouped(c, s, stacked=True),
    "line": _line,
    "area": _area,
    "scatter": _scatter,
    "pie": _pie,
    "donut": lambda c, s: _pie(c, s, donut=True),
    "hist": _hist,
    "box": _distribution,
    "violin": lambda c, s: _distribution(c, s, violin=True),
    "heatmap": _heatmap,
    "errorbar": _errorbar,
    "radar": _radar,
}
