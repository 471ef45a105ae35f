"""Run the notebook series headlessly with papermill: ``python -m msrl.run --scale small``.

Each notebook ``NN_name.ipynb`` is executed into ``RUN_DIR/executed/`` with its ``parameters`` cell
set (SCALE, SEED, RUN_DIR, INTERACTIVE=False, OVERRIDES). A stage counts as done when the run
manifest says so and it wrote ``RUN_DIR/NN_name/metrics.json``; done stages are skipped unless
``--force``, so an interrupted run resumes where it stopped. A failing stage stops the series
(later stages read its outputs) and is reported with the notebook cell that failed.

Kills: one runner writes a run folder at a time (an ``flock`` on ``RUN_DIR/.runner.lock``, released
by the kernel when the runner dies, however it dies); a second one refuses with the holder's pid.
The kernels a runner starts watch it (``msrl.stage``) and exit when it is gone, so a killed runner
leaves no notebook writing behind it. Every stage writes its records atomically and resumes from
what is complete on disk (corpus shards, trainer checkpoints with their ``trainer_state.json``,
evaluation files, plateau rows), which tests/test_kill_resume.py checks by SIGKILLing the series.

Kernels start with glibc's malloc told to keep large blocks in the heap (``KERNEL_MALLOC_ENV``):
with its defaults every training step mapped and faulted in its large tensors afresh.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import importlib.metadata
import os
import subprocess
import sys
import time
from pathlib import Path

from msrl import paths
from msrl.presets import DEFAULT_SCALE, PRESETS, add_override_argument
from msrl.training.precision import choose_bf16, cpu_name

VERSIONED_PACKAGES = (
    "msrl",
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "datasets",
    "tokenizers",
    "matplotlib",
    "seaborn",
    "numpy",
    "pandas",
    "papermill",
)


# glibc malloc settings for the kernels (each a process the runner starts; glibc reads them at start).
# By default glibc serves every allocation above 32 MB (a batch's logits: 8 x 450 tokens x 4,096 x
# 4 bytes = 59 MB) with a fresh mmap and unmaps it on free, so each SFT step faulted in ~77,000 new
# pages. Serving them from the heap and keeping freed memory there: 12,000 faults per step, steps 9 %
# faster in a fresh process and 20 % faster in 02's kernel (README, Benchmarks; bench/bench_malloc.py).
# A value the user has set is kept.
KERNEL_MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(16 * 2**30)}


class StageFailed(RuntimeError):
    """A notebook stage raised; the message names the notebook, the cell and the error."""


def discover(notebook_dir: Path) -> list[Path]:
    """The series' notebooks (``NN_name.ipynb``) in stage order."""
    found = sorted(p for p in notebook_dir.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no NN_name.ipynb notebooks in {notebook_dir}")
    return found


def select(notebooks: list[Path], only: list[str] | None) -> list[Path]:
    if not only:
        return notebooks
    chosen = [
        nb
        for nb in notebooks
        if any(nb.stem == k or nb.stem.split("_")[0] == k or nb.stem.partition("_")[2] == k for k in only)
    ]
    missing = [k for k in only if not any(k in (nb.stem, nb.stem[:2], nb.stem[3:]) for nb in chosen)]
    if missing:
        raise SystemExit(f"--only {','.join(missing)}: no such stage; have {', '.join(nb.stem for nb in notebooks)}")
    return chosen


def git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=paths.REPO_ROOT, text=True, capture_output=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=paths.REPO_ROOT,
            text=True,
            capture_output=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def package_versions() -> dict:
    versions = {"python": sys.version.split()[0]}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def load_manifest(run_dir: Path, scale: str, seed: int) -> dict:
    path = run_dir / paths.MANIFEST
    if path.exists():
        manifest = paths.read_json(path)
        if manifest.get("scale") != scale or manifest.get("seed") != seed:
            raise SystemExit(
                f"{run_dir} holds a run at scale={manifest.get('scale')} seed={manifest.get('seed')}; "
                f"asked for scale={scale} seed={seed}. Use another --run-dir."
            )
    else:
        manifest = {"scale": scale, "seed": seed, "created": _now(), "stages": {}}
    manifest["git_commit"] = git_commit()
    manifest["versions"] = package_versions()
    manifest["cpu"] = cpu_name()
    manifest["precision"] = choose_bf16(PRESETS[scale].sft.bf16)  # what "auto" picks on this machine
    return manifest


def is_done(run_dir: Path, manifest: dict, stage: str) -> bool:
    return manifest["stages"].get(stage, {}).get("status") == "ok" and (run_dir / stage / paths.METRICS).exists()


def finished_stages(run_dir: Path, scale: str, notebook_dir: Path | None = None) -> list[str]:
    """The stages a run of ``scale`` in ``run_dir`` would skip (without writing anything)."""
    path = Path(run_dir) / paths.MANIFEST
    manifest = paths.read_json(path) if path.exists() else {"stages": {}}
    if manifest.get("scale", scale) != scale:
        return []
    notebooks = discover(Path(notebook_dir or paths.NOTEBOOK_DIR))
    return [nb.stem for nb in notebooks if is_done(Path(run_dir), manifest, nb.stem)]


class RunLocked(SystemExit):
    """Another runner is writing this run folder."""


@contextlib.contextmanager
def runner_lock(run_dir: Path):
    """Hold ``run_dir``'s runner lock for the block; raise RunLocked naming the holder if taken.
    The lock file's descriptor is not inherited by kernels, so it dies with this process."""
    path = run_dir / paths.RUNNER_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            raise RunLocked(
                f"{run_dir} is being written by another runner ({holder}); wait for it to finish, "
                f"or stop it, or use another --run-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {_now()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def execute_stage(notebook: Path, run_dir: Path, parameters: dict, progress: bool) -> float:
    """Execute one notebook with papermill; raise StageFailed naming the failing cell."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out = run_dir / paths.EXECUTED_DIR / notebook.name
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(out),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=progress,
            cwd=str(notebook.parent),
            log_output=False,
        )
    except PapermillExecutionError as err:
        source = "\n".join("    | " + line for line in err.source.splitlines()[:12])
        raise StageFailed(
            f"{notebook.stem} failed in cell {err.cell_index} (execution count {err.exec_count}):\n"
            f"{source}\n  {err.ename}: {err.evalue}\n  executed notebook with the traceback: {out}"
        ) from None
    return time.perf_counter() - start


def run_series(
    scale: str = DEFAULT_SCALE,
    run_dir: Path | None = None,
    only: list[str] | None = None,
    force: bool = False,
    seed: int | None = None,
    notebook_dir: Path | None = None,
    overrides: dict | None = None,
    progress: bool | None = None,
    echo=None,
) -> dict:
    """Execute the series (or ``only`` some stages); return the manifest. Raises StageFailed."""
    if scale not in PRESETS:
        raise SystemExit(f"unknown scale {scale!r}; choose one of {', '.join(PRESETS)}")
    seed = PRESETS[scale].seed if seed is None else seed
    run_dir = Path(run_dir or paths.OUTPUTS_DIR / scale).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    notebooks = select(discover(Path(notebook_dir or paths.NOTEBOOK_DIR)), only)
    progress = sys.stdout.isatty() if progress is None else progress
    echo = echo or (lambda message: print(message, flush=True))
    with runner_lock(run_dir), _kernel_environment():
        return _run_stages(scale, seed, run_dir, notebooks, force, overrides, progress, echo)


@contextlib.contextmanager
def _kernel_environment():
    """The environment the kernels started in the block inherit, restored afterwards:
    ``MSRL_RUNNER_PID`` names this process, so they exit when it dies (msrl.stage), and
    ``KERNEL_MALLOC_ENV`` where the user has not set those variables."""
    wanted = {paths.RUNNER_PID_ENV: str(os.getpid())}
    wanted.update({k: v for k, v in KERNEL_MALLOC_ENV.items() if k not in os.environ})
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_stages(scale, seed, run_dir: Path, notebooks, force, overrides, progress, echo) -> dict:
    manifest = load_manifest(run_dir, scale, seed)
    manifest_path = run_dir / paths.MANIFEST
    paths.write_json(manifest_path, manifest)
    parameters = {
        "SCALE": scale,
        "SEED": seed,
        "RUN_DIR": str(run_dir),
        "INTERACTIVE": False,
        "OVERRIDES": dict(overrides or {}),
    }
    series_start = time.perf_counter()
    for i, notebook in enumerate(notebooks, 1):
        stage = notebook.stem
        tag = f"[{i}/{len(notebooks)}] {stage}"
        if not force and is_done(run_dir, manifest, stage):
            echo(f"{tag}: done earlier, skipped (--force to run again)")
            continue
        echo(f"{tag}: running at scale={scale} ...")
        # Read when the stage starts (its kernel imports the working tree then), not once per run:
        # a commit made while a series runs is what the later stages run.
        commit = git_commit()
        manifest["stages"][stage] = {"status": "running", "started": _now()}
        paths.write_json(manifest_path, manifest)
        try:
            seconds = execute_stage(notebook, run_dir, parameters, progress)
        except StageFailed as err:
            manifest["stages"][stage] = {"status": "failed", "finished": _now(), "error": str(err)}
            paths.write_json(manifest_path, manifest)
            raise
        if not (run_dir / stage / paths.METRICS).exists():
            message = f"{stage} ran but wrote no {stage}/{paths.METRICS}"
            manifest["stages"][stage] = {"status": "failed", "finished": _now(), "error": message}
            paths.write_json(manifest_path, manifest)
            raise StageFailed(message)
        # Each stage names the commit it ran at: a run continued after a commit mixes two.
        entry = {"status": "ok", "finished": _now(), "seconds": round(seconds, 1), "git_commit": commit}
        finished_at = git_commit()
        if finished_at != commit:  # the tree changed while the stage ran: modules imported late saw it
            entry["git_commit_at_finish"] = finished_at
        manifest["stages"][stage] = entry
        paths.write_json(manifest_path, manifest)
        echo(f"{tag}: ok in {seconds:.1f} s")
    echo(f"series finished in {time.perf_counter() - series_start:.1f} s; results in {run_dir}")
    return manifest


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m msrl.run", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default=DEFAULT_SCALE, choices=sorted(PRESETS))
    parser.add_argument("--only", action="append", help="stage number or name (repeatable, or comma list)")
    parser.add_argument("--run-dir", type=Path, help="default: outputs/<scale>")
    parser.add_argument("--force", action="store_true", help="run stages that are already done")
    parser.add_argument("--seed", type=int, help="default: the preset's seed")
    add_override_argument(parser)
    parser.add_argument("--notebooks", type=Path, help="notebook folder (default: notebooks/)")
    parser.add_argument("--status", action="store_true", help="print which stages are done, run nothing")
    args = parser.parse_args(argv)
    only = [k for item in args.only or [] for k in item.split(",") if k]
    if args.status:
        run_dir = args.run_dir or paths.OUTPUTS_DIR / args.scale
        done = finished_stages(run_dir, args.scale, args.notebooks)
        for notebook in discover(Path(args.notebooks or paths.NOTEBOOK_DIR)):
            print(f"{notebook.stem}: {'done' if notebook.stem in done else 'to run'}")
        print(f"{len(done)} stage(s) done in {run_dir}")
        return 0
    try:
        run_series(args.scale, args.run_dir, only, args.force, args.seed, args.notebooks, dict(args.overrides))
    except StageFailed as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
