"""Chart introspection: what a program actually drew, read from the figure, not from the source.

Runs inside the sandbox child. ``install()`` is called before the program: it wraps matplotlib's
plotting entry points the way ChartMimic's evaluators do (chart types = counts of top-level plotting
calls, colours = the set of ``function--colour`` pairs those calls drew), logs every string the
renderer draws (ChartMimic's text metric), and turns ``show``/``savefig`` into no-ops that remember
the figure. ``figure_record(fig)`` is called after rendering and returns one JSON-able record:

``record`` keys
    ``size_in``, ``dpi``          figure size in inches and the dpi it was rendered at
    ``suptitle``                  the figure's suptitle or ``""``
    ``calls``                     {plotting function: number of top-level calls} (ChartMimic type)
    ``colors``                    sorted unique ``"function--#RRGGBB"`` / ``"function--cmap"``
    ``texts``                     every drawn string except tick labels and axis offset texts
    ``tick_labels``               drawn tick label strings, kept separately
    ``layout``                    [nrows, ncols, row_start, row_end, col_start, col_end] per grid axes
    ``axes``                      per axes: ``kind`` (rectilinear/polar/3d), ``layout``, ``title``,
                                  ``xlabel``, ``ylabel``, ``zlabel``, ``legend`` (entries) and
                                  ``series``: [{``type``, ``label``, ``values`` (y / heights /
                                  fractions / cell values), ``x`` where numeric}]

Departures from ChartMimic: one execution serves all metrics (ChartMimic re-runs the program once
per metric, deleting the ticks for the text metric); we instead skip text drawn while a tick is
drawn. Function names are bare (``bar``, ``plot_polar``, ``scatter_3d``) instead of file paths.
"""

from __future__ import annotations

import functools
from collections import Counter

MAX_VALUES = 2000  # per series: bounds the record for huge scatter/heatmap data

_state = {
    "depth": 0,
    "in_tick": 0,
    "calls": Counter(),
    "colors": set(),
    "texts": [],
    "tick_texts": [],
    "saved": None,
    "closed": [],
}


def _hex(color) -> str | None:
    import matplotlib.colors as mcolors

    try:
        return mcolors.to_hex(color, keep_alpha=False).upper()
    except (ValueError, TypeError):
        return None


def _cmap_name(artist) -> str | None:
    cmap = getattr(artist, "cmap", None) or (artist.get_cmap() if hasattr(artist, "get_cmap") else None)
    return getattr(cmap, "name", None)


def _colors_of(name: str, result, kwargs) -> list[str]:
    """Colours a plotting call drew, following ChartMimic's color_evaluator per function."""
    out: list = []
    if name in ("scatter", "scatter_3d") and kwargs.get("cmap") is not None:
        cmap = kwargs["cmap"]
        return [cmap if isinstance(cmap, str) else getattr(cmap, "name", "cmap")]
    if name in ("plot", "plot_polar", "plot_3d"):
        out = [line.get_color() for line in result]
    elif name in ("bar", "barh", "bar_3d", "fill"):
        out = [p.get_facecolor() for p in result]
    elif name in (
        "scatter",
        "scatter_3d",
        "fill_between",
        "fill_betweenx",
        "quiver",
        "bar3d_3d",
        "add_collection3d_3d",
    ):
        faces = result.get_facecolor()
        out = [faces[0]] if len(faces) else []
    elif name == "pie":
        out = [w.get_facecolor() for w in result[0]]
    elif name in ("axhline", "axvline"):
        out = [result.get_color()]
    elif name in ("axhspan", "axvspan"):
        out = [result.get_facecolor()]
    elif name in ("hlines", "vlines"):
        out = list(result.get_edgecolors())
    elif name == "errorbar":
        line = result.lines[0]
        out = [line.get_color()] if line is not None else []
    elif name == "hist":
        patches = result[2]
        flat = [p for group in patches for p in (group if hasattr(group, "__iter__") else [group])]
        out = [p.get_facecolor() for p in flat]
    elif name == "boxplot":
        out = [b.get_facecolor() if hasattr(b, "get_facecolor") else b.get_color() for b in result.get("boxes", [])]
    elif name == "violinplot":
        out = [body.get_facecolor()[0] for body in result.get("bodies", []) if len(body.get_facecolor())]
    elif name in ("imshow", "pcolor", "pcolormesh", "contour", "contourf", "tripcolor", "plot_surface_3d"):
        cmap = kwargs.get("cmap")
        named = cmap if isinstance(cmap, str) else getattr(cmap, "name", None) or _cmap_name(result)
        return [named] if named else []
    colors = []
    for color in out:
        hexed = _hex(color)
        if hexed:
            colors.append(hexed)
    return colors


# Colours are keyed by the drawing function as ChartMimic's colour logger sees it: matplotlib's barh
# draws through Axes.bar, and ChartMimic records those bars under "bar" (a barh chart against a bar
# reference scored 0.00 here and 0.20 there, issue 14). Chart type stays keyed by the call made.
COLOUR_KEYS = {"barh": "bar"}


def _wrap(owner, method: str, name: str | None = None):
    original = getattr(owner, method)

    @functools.wraps(original)  # seaborn dispatches on the plotting method's __name__
    def wrapper(*args, **kwargs):
        if _state["depth"]:
            return original(*args, **kwargs)
        _state["depth"] += 1
        try:
            result = original(*args, **kwargs)
        finally:
            _state["depth"] -= 1
        key = name or method
        if method == "plot" and args and getattr(args[0], "name", "") == "polar":
            key = "plot_polar"
        _state["calls"][key] += 1
        try:
            colour_key = COLOUR_KEYS.get(key, key)
            _state["colors"].update(f"{colour_key}--{c}" for c in _colors_of(key, result, kwargs))
        except Exception:  # a colour we cannot read must not fail the run
            pass
        return result

    setattr(owner, method, wrapper)


AXES_METHODS = (
    "bar",
    "barh",
    "plot",
    "axhline",
    "axvline",
    "axhspan",
    "axvspan",
    "hlines",
    "vlines",
    "errorbar",
    "boxplot",
    "violinplot",
    "hist",
    "fill_between",
    "fill_betweenx",
    "scatter",
    "quiver",
    "pie",
    "fill",
    "imshow",
    "pcolor",
    "pcolormesh",
    "contour",
    "contourf",
    "broken_barh",
    "tripcolor",
    "stackplot",
    "step",
    "stem",
    "hexbin",
    "streamplot",
    "matshow",
    "loglog",
    "semilogx",
    "semilogy",
    "table",
)
AXES3D_METHODS = (
    "scatter",
    "plot",
    "plot_surface",
    "bar3d",
    "bar",
    "add_collection3d",
    "plot_wireframe",
    "contour3D",
    "contourf",
)


def install() -> None:
    """Wrap plotting calls, text drawing and show/savefig. Called once in the child."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes
    from matplotlib.axis import Tick
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d import Axes3D

    for method in AXES_METHODS:
        if hasattr(Axes, method):
            _wrap(Axes, method)
    # seaborn draws boxes through Axes.bxp, which ChartMimic's list misses: count it as a boxplot
    _wrap(Axes, "bxp", "boxplot")
    for method in AXES3D_METHODS:
        if method in Axes3D.__dict__:
            _wrap(Axes3D, method, f"{method}_3d")
    for module, function in (("squarify", "plot"),):
        try:
            _wrap(__import__(module), function, module)
        except ImportError:
            pass

    tick_draw = Tick.draw

    def draw_tick(self, renderer):
        _state["in_tick"] += 1
        try:
            return tick_draw(self, renderer)
        finally:
            _state["in_tick"] -= 1

    Tick.draw = draw_tick

    draw_text = RendererAgg.draw_text

    def logged_draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        offset = mtext is not None and any(
            mtext is getattr(axis, "offsetText", None)
            for axis in getattr(getattr(mtext, "axes", None), "_axis_map", {}).values()
        )
        if s and s.strip():
            (_state["tick_texts"] if _state["in_tick"] or offset else _state["texts"]).append(s)
        return draw_text(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    RendererAgg.draw_text = logged_draw_text

    def savefig(self, *args, **kwargs):
        _state["saved"] = self  # render later, ourselves, at a bounded size

    savefig.__wrapped__ = Figure.savefig
    Figure.savefig = savefig
    plt.show = lambda *args, **kwargs: None
    plt.pause = lambda *args, **kwargs: None
    close = plt.close

    def remembering_close(fig=None):
        for num in plt.get_fignums() if fig in (None, "all") else []:
            _state["closed"].append(plt.figure(num))
        if isinstance(fig, Figure):
            _state["closed"].append(fig)
        return close(fig)

    plt.close = remembering_close


def reset() -> None:
    """Forget the previous program's calls, colours, texts and figures (the next program of a
    series of trusted programs starts from nothing, as in a child of its own)."""
    _state.update(depth=0, in_tick=0, saved=None)
    for key in ("calls", "colors", "texts", "tick_texts", "closed"):
        _state[key].clear()


def chosen_figure():
    """The figure to render: the one last passed to savefig, else the current one, else the last
    closed figure that has axes. None if the program drew nothing."""
    import matplotlib.pyplot as plt

    if _state["saved"] is not None:
        return _state["saved"]
    if plt.get_fignums():
        return plt.gcf()
    for fig in reversed(_state["closed"]):
        if fig.axes:
            return fig
    return None


def original(function):
    """The unwrapped function (used by the sandbox to really save the chosen figure)."""
    return getattr(function, "__wrapped__", function)


def _numbers(values) -> list[float]:
    import numpy as np

    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return []
    array = array[np.isfinite(array)]
    if array.size > MAX_VALUES:  # keep the shape of the data, not every point
        array = array[np.linspace(0, array.size - 1, MAX_VALUES).astype(int)]
    return [round(float(v), 6) for v in array]


def _series(ax) -> list[dict]:
    from matplotlib.collections import PathCollection, QuadMesh
    from matplotlib.container import BarContainer
    from matplotlib.patches import Wedge

    series = []
    in_bars = set()
    for container in ax.containers:
        if isinstance(container, BarContainer):
            in_bars.update(id(p) for p in container.patches)
            values = (
                container.datavalues
                if container.datavalues is not None
                else [
                    p.get_height() if container.orientation != "horizontal" else p.get_width()
                    for p in container.patches
                ]
            )
            series.append(
                {
                    "type": "barh" if container.orientation == "horizontal" else "bar",
                    "label": _label(container),
                    "values": _numbers(values),
                }
            )
    for line in ax.lines:
        entry = {"type": "line", "label": _label(line), "values": _numbers(line.get_ydata())}
        x = _numbers(line.get_xdata())
        if x:
            entry["x"] = x
        series.append(entry)
    for collection in ax.collections:
        if isinstance(collection, PathCollection) and len(collection.get_offsets()):
            offsets = collection.get_offsets()
            series.append(
                {
                    "type": "scatter",
                    "label": _label(collection),
                    "values": _numbers(offsets[:, 1]),
                    "x": _numbers(offsets[:, 0]),
                }
            )
        elif isinstance(collection, QuadMesh) and collection.get_array() is not None:
            series.append({"type": "heatmap", "label": "", "values": _numbers(collection.get_array())})
    for image in ax.images:
        series.append({"type": "heatmap", "label": "", "values": _numbers(image.get_array())})
    wedges = [p for p in ax.patches if isinstance(p, Wedge) and id(p) not in in_bars]
    if wedges:
        spans = [(w.theta2 - w.theta1) % 360 or 360.0 for w in wedges]
        total = sum(spans)
        series.append({"type": "pie", "label": "", "values": _numbers([100.0 * s / total for s in spans])})
    return series


def _label(artist) -> str:
    label = artist.get_label() if hasattr(artist, "get_label") else ""
    return "" if not label or label.startswith("_") else str(label)


def _grid(ax) -> list[int] | None:
    spec = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
    if spec is None:
        return None
    nrows, ncols = spec.get_gridspec().get_geometry()
    return [nrows, ncols, spec.rowspan.start, spec.rowspan.stop - 1, spec.colspan.start, spec.colspan.stop - 1]


def figure_record(fig, dpi: float) -> dict:
    """The record described in the module docstring (call after the figure was rendered)."""
    axes = []
    for ax in fig.axes:
        legend = ax.get_legend()
        entry = {
            "kind": "3d" if ax.name == "3d" else ax.name,
            "layout": _grid(ax),
            "title": " | ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t),
            "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel(),
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
            "series": _series(ax),
        }
        if hasattr(ax, "get_zlabel"):
            entry["zlabel"] = ax.get_zlabel()
        axes.append(entry)
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    width, height = fig.get_size_inches()
    return {
        "size_in": [round(float(width), 3), round(float(height), 3)],
        "dpi": round(float(dpi), 2),
        "suptitle": suptitle,
        "calls": dict(_state["calls"]),
        "colors": sorted(_state["colors"]),
        "texts": list(_state["texts"]),
        "tick_labels": list(_state["tick_texts"]),
        "layout": [a["layout"] for a in axes if a["layout"] is not None],
        "axes": axes,
    }
