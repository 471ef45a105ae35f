"""One sandboxed job, inside the forked child: jail, run the program(s), render, introspect, report.

For each program the child writes one message to the result pipe: ``MSRL`` + 4-byte header length +
JSON header (status, error, stdout/stderr tails, record, ``png_bytes``) + the PNG bytes. It always
ends with ``os._exit`` so nothing of the worker's state (atexit handlers, buffered files) runs twice.

A child normally runs one program. It runs a series of programs only when they are trusted: the
corpus's own emitters' output, never model-written code. Between two programs of a series the child
resets what a chart program changes: figures, rcParams (seaborn's theme and palette live there),
seaborn's colour codes, the random generators, its working directory and the introspection counts.
Each program then draws what it would in a child of its own; a test compares the PNGs of both ways.
A hostile program could still leave state for the next one, which is why model code never runs in a
series.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import sys
import traceback

from msrl.execution import compat, introspect
from msrl.execution.sandbox import jail

MAGIC = b"MSRL"
TAIL_CHARS = 2000


class _Tail(io.TextIOBase):
    """A stdout/stderr that keeps only the last TAIL_CHARS characters (output floods cost nothing)."""

    def __init__(self):
        self.kept = ""
        self.total = 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        self.total += len(text)
        self.kept = (self.kept + text)[-TAIL_CHARS:]
        return len(text)


def _send(fd: int, header: dict, png: bytes = b"") -> None:
    payload = json.dumps({**header, "png_bytes": len(png)}).encode()
    data = MAGIC + struct.pack(">I", len(payload)) + payload + png
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _error_text(exc: BaseException, filename: str) -> str:
    """The exception and the program's own frames (not the sandbox's)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run(codes: list[str], job_dir: str, result_fd: int, options: dict, base_address_space: int) -> None:
    """Jail this process, then run the programs one after another, one message each."""
    sent = 0
    try:
        _jail(job_dir, options, base_address_space, len(codes))
        fresh = _fresh_state() if len(codes) > 1 else None  # a single program (model code) needs no reset
        for i, code in enumerate(codes):
            if fresh is not None:
                work_dir = os.path.join(job_dir, str(i))
                os.mkdir(work_dir)
                os.chdir(work_dir)
                if i:  # the first program finds the state as it is
                    _reset(fresh)
            header, png = _run_one(code, options)
            _send(result_fd, header, png)
            sent += 1
    except BaseException as exc:  # noqa: BLE001 - the sandbox itself failed: the rest report it
        for _ in codes[sent:]:
            _send(result_fd, {"status": "error", "error": f"{type(exc).__name__}: {exc}", "stdout": "", "stderr": ""})
    finally:
        os._exit(0)


def _jail(job_dir: str, options: dict, base_address_space: int, n_programs: int) -> None:
    os.chdir(job_dir)
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
    os.environ.clear()  # no secrets (API keys, tokens) reach the program
    os.environ.update(keep, HOME=job_dir, MPLCONFIGDIR=job_dir, TMPDIR=job_dir, MPLBACKEND="Agg")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-large writes fail instead of killing
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # native writes to stdout/stderr go nowhere; Python's go to a tail
        os.dup2(devnull, fd)
    options["network_isolated"] = bool(options.get("isolate_network")) and jail.isolate_network()
    jail.set_limits(
        memory_bytes=base_address_space + int(options["memory_mb"]) * 2**20,
        cpu_seconds=(int(options["timeout_s"]) + 1) * n_programs,
        file_bytes=int(options["file_mb"]) * 2**20,
    )
    compat.install()  # the benchmark's era of matplotlib/pandas APIs (compat.py), counted by introspection
    introspect.install()
    jail.install_audit_hook(job_dir)


def _fresh_state() -> dict:
    """What a program may change that the next program of a series must not see."""
    import random

    import matplotlib
    import numpy as np

    return {
        "rc": dict(matplotlib.rcParams),
        "colors": dict(matplotlib.colors._colors_full_map),  # seaborn's colour codes ('b', 'g', ...) live here
        "np": np.random.get_state(),
        "random": random.getstate(),
    }


def _reset(fresh: dict) -> None:
    import random

    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np

    plt.close("all")
    dict.update(matplotlib.rcParams, fresh["rc"])  # as rc_context restores them (no re-validation)
    colors = matplotlib.colors._colors_full_map
    colors.clear()
    colors.update(fresh["colors"])
    colors.cache.clear()
    np.random.set_state(fresh["np"])
    random.setstate(fresh["random"])
    introspect.reset()


def _run_one(code: str, options: dict) -> tuple[dict, bytes]:
    header = {"status": "error", "error": "", "stdout": "", "stderr": ""}
    header["network_isolated"] = options["network_isolated"]
    png = b""
    out, err = _Tail(), _Tail()
    sys.stdout, sys.stderr = out, err
    try:
        filename = "<chart program>"
        try:
            exec(compile(code, filename, "exec"), {"__name__": "__main__", "__file__": filename})
        except SystemExit:
            pass  # sys.exit() after drawing still leaves a chart
        except BaseException as exc:  # noqa: BLE001 - any failure of the program is a result
            header["status"] = "forbidden" if str(exc).startswith("sandbox:") else "error"
            header["error"] = _error_text(exc, filename)
            return header, png
        png, header = _render(header, options)
    except BaseException as exc:  # noqa: BLE001 - the sandbox itself failed on this program
        header["status"] = "error"
        header["error"] = header["error"] or f"{type(exc).__name__}: {exc}"
    finally:
        header["stdout"], header["stderr"] = out.kept, err.kept
        header["stdout_chars"] = out.total
    return header, png


def _render(header: dict, options: dict):
    """Draw the chosen figure to PNG at the requested dpi, never larger than max_px a side."""
    from matplotlib.figure import Figure

    fig = introspect.chosen_figure()
    if fig is None or not fig.axes and not fig.texts and not fig.images:
        header["status"] = "no_figure"
        header["error"] = "the program drew no figure"
        return b"", header
    width, height = fig.get_size_inches()
    dpi = float(options.get("dpi") or fig.dpi)
    if max(width, height) * dpi > options["max_px"]:
        dpi = options["max_px"] / max(width, height)  # huge figures are drawn smaller
        header["downscaled"] = True
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)  # a figure the program closed has lost its canvas: pixels are read below
    introspect._state["texts"].clear()  # count what the final drawing draws, once
    introspect._state["tick_texts"].clear()
    buffer = io.BytesIO()
    try:
        if _plain_save():
            _draw_once(fig, buffer, dpi)
        else:
            introspect.original(Figure.savefig)(fig, buffer, format="png", dpi=dpi)
    except BaseException as exc:  # noqa: BLE001
        header["status"] = "forbidden" if str(exc).startswith("sandbox:") else "error"
        header["error"] = f"drawing the figure failed: {type(exc).__name__}: {exc}"
        return b"", header
    header["status"] = "ok"
    header["record"] = introspect.figure_record(fig, dpi)
    header["image_stats"] = image_stats(fig)
    return buffer.getvalue(), header


def _plain_save() -> bool:
    """Whether ``savefig`` would only draw the figure as it is (no tight bbox, transparency or
    save-only colours set by the program or its style)."""
    import matplotlib

    rc = matplotlib.rcParams
    return (
        rc["savefig.bbox"] in (None, "standard")
        and not rc["savefig.transparent"]
        and rc["savefig.facecolor"] == "auto"
        and rc["savefig.edgecolor"] == "auto"
    )


def _draw_once(fig, buffer, dpi: float) -> None:
    """The PNG ``savefig(buffer, format="png", dpi=dpi)`` writes, in one drawing pass instead of two.

    For a figure with a layout engine (``tight_layout``, ``layout="constrained"``) savefig first
    draws without rendering to lay it out, then draws again; a plain draw runs the layout engine
    itself. On 300 corpus programs 299 PNGs were pixel-identical and one differed by 0.06/255 on
    average; the pass saved 9 of 44 ms per chart."""
    import matplotlib.image

    fig.set_dpi(dpi)
    fig.canvas.draw()
    matplotlib.image.imsave(buffer, fig.canvas.buffer_rgba(), format="png", origin="upper", dpi=dpi)


def image_stats(fig) -> dict:
    """Blank-image and near-duplicate signals from the drawn pixels (computed here, in parallel):
    ``ink`` = share of pixels that differ from the background, ``dhash`` = 256-bit difference hash
    (16 x 17 block means; a 64-bit hash is too coarse for charts: most bar charts share it).
    Works on channel sums (3 x the grey level) in integers: 4x faster than float grey means, and
    exact (float32 rounding decided some ties between equal blocks)."""
    import numpy as np

    rgba = np.asarray(fig.canvas.buffer_rgba())
    gray3 = rgba[..., 0].astype(np.int32) + rgba[..., 1] + rgba[..., 2]
    background = np.median(np.concatenate([gray3[0], gray3[-1], gray3[:, 0], gray3[:, -1]]))
    ink = float(np.count_nonzero(np.abs(gray3 - background) > 24) / gray3.size)
    h, w = gray3.shape
    rows = np.linspace(0, h, 17, dtype=int)[:-1]
    cols = np.linspace(0, w, 18, dtype=int)[:-1]
    blocks = np.add.reduceat(np.add.reduceat(gray3, rows, axis=0), cols, axis=1)
    sizes = np.outer(np.diff(np.append(rows, h)), np.diff(np.append(cols, w)))
    means = blocks / sizes
    bits = (means[:, 1:] > means[:, :-1]).ravel()
    return {"ink": round(ink, 5), "dhash": np.packbits(bits).tobytes().hex()}
