"""The renderer pool: N long-lived sandbox workers, each forking a jailed child per job (one program,
or a series of trusted programs: ``map(..., per_child=n)``).

Use it for every execution of model-written code (corpus building, rewards, evaluation)::

    with RenderPool(workers=2) as pool:
        results = pool.map(codes)          # parallel, in input order
        png = results[0].png               # PNG bytes, or None
        results[0].status                  # ok | error | forbidden | timeout | killed | no_figure

Workers are fresh ``python -m msrl.execution.sandbox.worker`` processes (never forked from a process that
holds torch and a model, and free of multiprocessing's re-import of the caller's main module). They
talk over two inherited pipes. A worker that dies or hangs past the job deadline plus a margin is
replaced; the job reports ``killed``.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from msrl.execution.codeblock import extract_code

STATUSES = ("ok", "error", "forbidden", "timeout", "killed", "no_figure")
WORKER_START_TIMEOUT_S = 120.0
HANG_MARGIN_S = 15.0
QUEUE_DEPTH = 2  # jobs handed to a worker at once (the running one and the next)
QUEUED_CODE_CHARS = 16_000  # a waiting job must fit in the pipe's 64 KiB buffer


@dataclass
class RenderResult:
    status: str
    png: bytes | None = None
    record: dict | None = None
    error: str = ""
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def image(self):
        """The rendered chart as a PIL image (None if nothing was rendered)."""
        if not self.png:
            return None
        import io

        from PIL import Image

        return Image.open(io.BytesIO(self.png)).convert("RGB")


def _result(raw: dict) -> RenderResult:
    known = {"status", "png", "record", "error", "stdout", "stderr", "seconds"}
    status = raw.get("status") if raw.get("status") in STATUSES else "killed"
    return RenderResult(
        status=status,
        png=raw.get("png") if status == "ok" else None,
        record=raw.get("record") if status == "ok" else None,
        error=str(raw.get("error") or ""),
        stdout=str(raw.get("stdout") or ""),
        stderr=str(raw.get("stderr") or ""),
        seconds=float(raw.get("seconds") or 0.0),
        extra={k: v for k, v in raw.items() if k not in known},
    )


class _Worker:
    def __init__(self):
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "msrl.execution.sandbox.worker", str(to_worker_r), str(from_worker_w)],
            pass_fds=(to_worker_r, from_worker_w),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a notebook does not reach the workers
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.conn = _Duplex(Connection(from_worker_r, writable=False), Connection(to_worker_w, readable=False))
        self.queue: deque = deque()  # (indices, codes) sent and not answered yet, oldest first
        self.deadline = 0.0  # when the oldest of them counts as hung
        if not self.conn.poll(WORKER_START_TIMEOUT_S):
            self.stop()
            raise RuntimeError("a sandbox worker did not start (see its stderr above)")
        self.conn.recv()

    def stop(self):
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=2)
        self.conn.close()


class _Duplex:
    """One object over the worker's two one-way pipes (``wait`` polls the reading end)."""

    def __init__(self, reader: Connection, writer: Connection):
        self.reader, self.writer = reader, writer

    def fileno(self):
        return self.reader.fileno()

    def send(self, obj):
        self.writer.send(obj)

    def recv(self):
        return self.reader.recv()

    def poll(self, timeout):
        return self.reader.poll(timeout)

    def close(self):
        self.reader.close()
        self.writer.close()


class RenderPool:
    """Sandboxed chart rendering. ``timeout_s``/``memory_mb``/``file_mb`` bound every job."""

    def __init__(
        self,
        workers: int = 2,
        timeout_s: float = 10.0,
        memory_mb: int = 1024,
        file_mb: int = 16,
        dpi: float | None = None,
        max_px: int = 2048,
        isolate_network: bool = True,
    ):
        self.options = {
            "timeout_s": timeout_s,
            "memory_mb": memory_mb,
            "file_mb": file_mb,
            "dpi": dpi,
            "max_px": max_px,
            "isolate_network": isolate_network,
        }
        self._workers = [_Worker() for _ in range(max(1, workers))]
        self._next_id = 0
        self.restarts = 0
        atexit.register(self.close)

    @classmethod
    def for_data(cls, data, timeout_s: float = 20.0) -> RenderPool:
        """The pool the stages use: a DataPreset's workers, render dpi and image size."""
        return cls(workers=data.workers, timeout_s=timeout_s, dpi=data.dpi, max_px=data.image_px)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for w in getattr(self, "_workers", []):
            w.stop()
        self._workers = []

    @property
    def size(self) -> int:
        return len(self._workers)

    def render(self, code: str, **options) -> RenderResult:
        return self.map([code], **options)[0]

    def map(self, codes, extract: bool = True, per_child: int = 1, **options) -> list[RenderResult]:
        """Run every program (model replies are reduced to their first python block) in parallel.

        Each worker holds up to QUEUE_DEPTH jobs: the next one waits in its pipe, so a worker never
        idles while this process (busy with other work, or waiting for the GIL) hands out jobs.

        ``per_child`` > 1 runs that many programs one after another in one child (``child``): only
        for trusted programs (the corpus's own emitters), never for model-written code."""
        if not self._workers:
            raise RuntimeError("the pool is closed")
        opts = {**self.options, **options}
        codes = [extract_code(c) if extract else c for c in codes]
        results: list[RenderResult | None] = [None] * len(codes)
        step = max(1, int(per_child))
        pending = deque(
            (list(range(i, min(i + step, len(codes)))), codes[i : i + step]) for i in range(0, len(codes), step)
        )
        while pending or any(w.queue for w in self._workers):
            for w in self._workers:
                while pending and self._has_room(w, pending[0][1]):
                    job = pending.popleft()
                    w.conn.send((job[0][0], job[1], opts))
                    if not w.queue:
                        w.deadline = time.monotonic() + self._budget(opts, job)
                    w.queue.append(job)
            busy = [w for w in self._workers if w.queue]
            ready = wait([w.conn for w in busy], timeout=1.0)
            for w in busy:
                if w.conn in ready:
                    try:
                        _, raws = w.conn.recv()
                    except (EOFError, OSError):
                        self._give_up(w, results, pending, "the sandbox worker died")
                        continue
                    indices, _ = w.queue.popleft()
                    for index, raw in zip(indices, raws, strict=True):
                        results[index] = _result(raw)
                    if w.queue:  # the next queued job starts now
                        w.deadline = time.monotonic() + self._budget(opts, w.queue[0])
                elif time.monotonic() > w.deadline:
                    self._give_up(w, results, pending, "the sandbox worker hung; replaced")
        return results

    @staticmethod
    def _budget(opts: dict, job) -> float:
        return opts["timeout_s"] * len(job[1]) + HANG_MARGIN_S

    @staticmethod
    def _has_room(w: _Worker, codes: list[str]) -> bool:
        # a queued job must fit the pipe's buffer, or sending it would block until the worker is free
        return not w.queue or (len(w.queue) < QUEUE_DEPTH and sum(map(len, codes)) < QUEUED_CODE_CHARS)

    def _give_up(self, w: _Worker, results: list, pending: deque, error: str) -> None:
        """The running job's programs are reported killed; the jobs queued behind it go back to the front."""
        indices, _ = w.queue.popleft()
        for index in indices:
            results[index] = RenderResult("killed", error=error)
        pending.extendleft(reversed(w.queue))
        self._replace(w)

    def _replace(self, w: _Worker) -> None:
        w.process.kill()
        w.stop()
        self._workers[self._workers.index(w)] = _Worker()
        self.restarts += 1


_shared: RenderPool | None = None


def shared_pool(**options) -> RenderPool:
    """A process-wide pool (created on first use) for rewards and metrics that need renders."""
    global _shared
    if _shared is None or not _shared._workers:
        _shared = RenderPool(**options)
    return _shared
