"""The matplotlib 3.8 / pandas 2 era APIs that ChartMimic's programs use, restored in the sandbox.

ChartMimic's reference programs were written for the library versions of early 2024. Some of the
calls they make were removed since, so in this project's environment (matplotlib 3.11, pandas 3,
numpy 2) 5 of the 300 public references failed for reasons that lie in the environment, not in the
program; a model that writes the same idioms would fail the same way. Two ways out were possible: a
second evaluation environment pinned to the benchmark's versions, or this layer. We chose the layer:
one environment then serves training rollouts, rewards and evaluation alike (a second, pinned one
would score completions under other library versions than those the rewards used in training), and
each shim is a one-line mapping to today's spelling of the same call, so a program draws what it
drew then.

Installed in every sandbox child (before introspection, which then counts the restored calls once):

- ``matplotlib.cm.get_cmap(name, lut)`` (removed in 3.9) -> ``matplotlib.colormaps[name]``, resampled to ``lut``;
- ``Axes.boxplot(labels=...)`` (renamed ``tick_labels`` in 3.9, removed in 3.11);
- ``DataFrame.applymap`` (removed in pandas 3) -> ``DataFrame.map``;
- coordinates given as one-element arrays to ``annotate`` and ``text`` (``float()`` of such an array
  became an error in numpy 2.x; ``ax.annotate(s, (x, y[np.where(...)]))`` is a common idiom).

The benchmark's programs also import ``matplotlib_venn`` and ``squarify``; both are dependencies.
"""

from __future__ import annotations

import functools


def install() -> None:
    """Restore the removed APIs. Called once in the sandbox child, before the program runs."""
    import matplotlib
    import matplotlib.cm
    from matplotlib.axes import Axes

    if not hasattr(matplotlib.cm, "get_cmap"):

        def get_cmap(name=None, lut=None):
            cmap = matplotlib.colormaps.get_cmap(name)
            return cmap if lut is None else cmap.resampled(lut)

        matplotlib.cm.get_cmap = get_cmap

    _wrap(Axes, "boxplot", _boxplot_labels)
    _wrap(Axes, "annotate", _annotate_scalars)
    _wrap(Axes, "text", _text_scalars)
    try:
        import pandas as pd
    except ImportError:
        return
    if not hasattr(pd.DataFrame, "applymap"):
        pd.DataFrame.applymap = lambda self, func, na_action=None, **kwargs: self.map(func, na_action, **kwargs)


def _wrap(owner, method: str, adapt) -> None:
    original = getattr(owner, method)

    @functools.wraps(original)  # seaborn and introspection read the method's __name__
    def wrapper(*args, **kwargs):
        args, kwargs = adapt(args, kwargs)
        return original(*args, **kwargs)

    setattr(owner, method, wrapper)


def _scalar(value):
    """A one-element array as its number (what numpy < 2 did on ``float(array)``); else unchanged."""
    size = getattr(value, "size", None)
    if size == 1 and getattr(value, "ndim", 0) > 0:
        return value.reshape(-1)[0].item()
    return value


def _boxplot_labels(args, kwargs):
    if "labels" in kwargs and "tick_labels" not in kwargs:
        kwargs["tick_labels"] = kwargs.pop("labels")
    return args, kwargs


def _point(value):
    return tuple(_scalar(v) for v in value) if isinstance(value, (tuple, list)) else value


def _annotate_scalars(args, kwargs):
    # Axes.annotate(self, text, xy, xytext=None, ...)
    if len(args) > 2:
        args = (*args[:2], _point(args[2]), *args[3:])
    for key in ("xy", "xytext"):
        if key in kwargs:
            kwargs[key] = _point(kwargs[key])
    return args, kwargs


def _text_scalars(args, kwargs):
    # Axes.text(self, x, y, s, ...)
    args = tuple(_scalar(a) if i in (1, 2) else a for i, a in enumerate(args))
    for key in ("x", "y"):
        if key in kwargs:
            kwargs[key] = _scalar(kwargs[key])
    return args, kwargs
