"""A long-lived sandbox worker: plotting libraries imported once, one forked child per job.

Forking a process that has already imported matplotlib, seaborn, numpy and pandas costs a few
milliseconds; starting a fresh ``python`` and importing them costs about a second. That is the
pool's whole speed-up, and every job still gets a fresh process (no state leaks between jobs).

The worker enforces the wall-clock deadline: at the deadline it SIGKILLs the child's whole process
group, then reaps it and removes the job directory, whatever the program did.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import struct
import tempfile
import time

MAX_RESULT_BYTES = 64 * 2**20  # a result bigger than this is not a chart: the job is killed
PREIMPORTS = (
    "numpy",
    "pandas",
    "matplotlib.pyplot",
    "seaborn",
    "scipy.stats",
    "mpl_toolkits.mplot3d",
    "matplotlib_venn",
    "matplotlib.patches",
    "matplotlib.colors",
    "matplotlib.cm",
    "matplotlib.gridspec",
    "matplotlib.ticker",
    "matplotlib.lines",
    "matplotlib.dates",
    "matplotlib.collections",
    "matplotlib.path",
    "matplotlib.font_manager",
    "matplotlib.patheffects",
    "mpl_toolkits.axes_grid1",
    "mpl_toolkits.axes_grid1.inset_locator",
    "matplotlib.projections.polar",
    "squarify",
    "networkx",
    "math",
    "random",
    "datetime",
    "collections",
    "itertools",
    "colorsys",
    "statistics",
    "textwrap",
    "string",
    "json",
    "csv",
    "decimal",
    "fractions",
    "calendar",
)


def prepare() -> int:
    """Import and warm up everything a chart program uses; return the process's address space."""
    os.environ["MPLBACKEND"] = "Agg"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # a job is single-threaded; the pool parallelises across jobs
    # pandas keeps strings in Arrow. Arrow's own allocator reserves address space in large arenas
    # on first use in a child, which can exhaust the child's address-space limit at once ("malloc
    # of size 64 failed"); the system allocator grows with what is used.
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    import importlib
    import warnings

    warnings.filterwarnings("ignore")
    for name in PREIMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    import io

    import matplotlib.pyplot as plt

    # One throwaway chart loads fonts, mathtext and the PNG writer before any fork.
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="$x^2$")
    ax.set_title("warm-up")
    ax.legend()
    fig.savefig(io.BytesIO(), format="png")
    plt.close("all")
    import gc

    from msrl.execution.sandbox import child, jail  # noqa: F401 (imported once, not in every child)

    # Everything alive now is shared with every child. Freezing it keeps the children's garbage
    # collections from walking (and so copying, page by page) the worker's whole heap.
    gc.freeze()
    return jail.address_space_bytes()


def run_job(codes: list[str], options: dict, root: str, base_address_space: int) -> list[dict]:
    """Run the programs in one forked, jailed child; return one result dict each (PNG bytes included).

    More than one program per child only for trusted programs (see ``child``). A series whose child
    is killed part-way (deadline, signal, flood) loses nothing: the programs it did not report run
    again, each in a child of its own, and keep that result."""
    from msrl.execution.sandbox import child

    start = time.perf_counter()
    job_dir = tempfile.mkdtemp(prefix="job-", dir=root)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read_fd)
            os.setpgid(0, 0)
            child.run(codes, job_dir, write_fd, options, base_address_space)
        finally:
            os._exit(70)
    os.close(write_fd)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass  # the child already did it (or already exited)
    deadline = time.monotonic() + float(options["timeout_s"]) * len(codes)
    data, timed_out, flooded = _read_until(read_fd, deadline, MAX_RESULT_BYTES * len(codes))
    os.close(read_fd)
    if timed_out or flooded:
        _kill_group(pid)
    _, wait_status = os.waitpid(pid, 0)
    _kill_group(pid)  # anything the program left behind in its group
    shutil.rmtree(job_dir, ignore_errors=True)
    results = _parse(data)[: len(codes)]
    seconds = round((time.perf_counter() - start) / len(codes), 4)
    for result in results:
        result["seconds"] = seconds
    if len(results) == len(codes) and not timed_out:
        return results
    if len(codes) > 1:
        return results + [
            r for code in codes[len(results) :] for r in run_job([code], options, root, base_address_space)
        ]
    result = {"status": None, "png": None, "record": None, "seconds": seconds}
    if timed_out:
        result.update(status="timeout", error=f"no result within {options['timeout_s']} s; killed")
    elif flooded:
        result.update(status="killed", error="the program's result exceeded the size limit; killed")
    elif os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        status = "timeout" if sig == signal.SIGXCPU else "killed"
        result.update(status=status, error=f"the program died from {name}", signal=name)
    else:
        result.update(status="killed", error="the program exited before the sandbox could report")
    return [result]


def _read_until(fd: int, deadline: float, max_bytes: int):
    chunks, size = [], 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), True, False
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks), False, False
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"", False, True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _parse(data: bytes) -> list[dict]:
    """The complete messages in the child's output, in order (a cut-off last one is dropped)."""
    from msrl.execution.sandbox.child import MAGIC

    results, at = [], 0
    while len(data) >= at + 8 and data.startswith(MAGIC, at):
        (length,) = struct.unpack(">I", data[at + 4 : at + 8])
        try:
            header = json.loads(data[at + 8 : at + 8 + length])
            png_end = at + 8 + length + int(header.pop("png_bytes"))
        except (ValueError, KeyError, TypeError, AttributeError):  # not a message the child wrote
            break
        if png_end > len(data):
            break
        header["png"] = data[at + 8 + length : png_end] or None
        header.setdefault("record", None)
        results.append(header)
        at = png_end
    return results


def main(read_fd: int, write_fd: int) -> None:
    """Serve jobs from the pool's pipe until it closes or sends None."""
    from multiprocessing.connection import Connection

    jobs, replies = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a notebook stops the pool, not us
    base = prepare()
    root = tempfile.mkdtemp(prefix="msrl-sandbox-")
    replies.send({"ready": True, "pid": os.getpid()})
    try:
        while True:
            try:
                job = jobs.recv()
            except EOFError:
                break
            if job is None:
                break
            job_id, codes, options = job
            try:
                results = run_job(codes, options, root, base)
            except Exception as exc:  # the worker must survive anything a job does
                failure = {"status": "error", "error": f"sandbox failure: {type(exc).__name__}: {exc}"}
                results = [{**failure, "png": None, "record": None} for _ in codes]
            replies.send((job_id, results))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    import sys

    main(int(sys.argv[1]), int(sys.argv[2]))
