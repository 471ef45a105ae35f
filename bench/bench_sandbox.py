"""Throughput of the sandboxed renderer pool vs. the usual alternatives, side by side in one run.

    python bench/bench_sandbox.py [--n 40] [--workers 2]

Two program sets: ChartMimic references (heavy: ~150 ms of drawing each; skipped when ../shared is
absent) and light charts like the corpus and RL completions. Every method renders the same programs
to PNG, using both cores (two at a time):

- pool:          msrl's RenderPool (fork per job from a warm worker, jailed, introspected);
- fresh python:  one new ``python`` process per program (what ChartMimic and VLMEvalKit do);
- in-process:    plain ``exec`` in two long-lived processes, no isolation (the unsafe limit).

Targets (issue 4): pool >= 6x fresh python, >= 0.7x in-process. The ceiling of the first ratio is
in-process / fresh python (printed): where drawing dominates, no renderer can reach 6x.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from shared_setup import cpu_line

SAMPLES = [
    "import matplotlib.pyplot as plt\nimport numpy as np\nx = np.linspace(0, 10, 200)\n"
    "fig, ax = plt.subplots(figsize=(6, 4))\nfor k in range(4):\n    ax.plot(x, np.sin(x + k), label=f's{k}')\n"
    "ax.legend()\nax.set_title('Waves')\nax.grid(True)\n",
    "import matplotlib.pyplot as plt\nfig, axes = plt.subplots(1, 2, figsize=(8, 3))\n"
    "axes[0].bar(list('abcde'), [3, 5, 2, 6, 4], color='tab:orange')\n"
    "axes[1].pie([1, 2, 3], labels=['x', 'y', 'z'], autopct='%1.0f%%')\nfig.suptitle('Mix')\n",
    "import seaborn as sns\nimport numpy as np\nimport matplotlib.pyplot as plt\n"
    "data = np.random.RandomState(0).rand(8, 8)\nsns.heatmap(data, annot=True, fmt='.1f', cmap='viridis')\n"
    "plt.title('Heat')\n",
]


def program_sets(n: int) -> dict[str, list[str]]:
    from msrl.paths import CHARTMIMIC_DIR
    from msrl.scoring.chartmimic import load_benchmark

    sets = {}
    if CHARTMIMIC_DIR.is_dir():
        sets["ChartMimic references"] = [item["code"] for item in load_benchmark(limit=n)]
    sets["light charts"] = [
        SAMPLES[i % len(SAMPLES)].replace("figsize=(6, 4)", f"figsize=(6, {3 + i % 3})") for i in range(n)
    ]
    return sets


# Every method does the same work: the program's own savefig/show do nothing (the references save
# PDFs), then the current figure is rendered once to PNG.
# (The original savefig is kept on the class once, so a long-lived process does not lose it.)
NEUTRALIZE = (
    "import matplotlib\nmatplotlib.use('Agg')\nimport io\nfrom matplotlib.figure import Figure\n"
    "Figure._bench_save = getattr(Figure, '_bench_save', Figure.savefig)\n_save = Figure._bench_save\n"
    "Figure.savefig = lambda *a, **k: None\n"
)


def _exec_in_process(code: str, dpi: float | None = None, one_pass: bool = False) -> bool:
    """Execute and draw one program in this process (no sandbox), rendered once to PNG: with a plain
    savefig, or (``one_pass``) with the sandbox's own single drawing pass (child._draw_once)."""
    import matplotlib.pyplot as plt

    finish = f"\nimport matplotlib.pyplot as plt\n_save(plt.gcf(), io.BytesIO(), format='png', dpi={dpi})\n"
    if one_pass:
        finish = (
            "\nimport matplotlib.pyplot as plt\nfrom msrl.execution.sandbox.child import _draw_once\n"
            f"_draw_once(plt.gcf(), io.BytesIO(), {dpi})\n"
        )
    try:
        exec(compile(NEUTRALIZE + code + finish, "<chart>", "exec"), {"__name__": "__main__"})
        return True
    except Exception:
        return False
    finally:
        plt.close("all")


def _warm():
    import warnings

    import matplotlib

    warnings.filterwarnings("ignore")
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import seaborn  # noqa: F401


def _fresh_python(code: str) -> bool:
    wrapper = NEUTRALIZE + code + "\nimport matplotlib.pyplot as plt\n_save(plt.gcf(), io.BytesIO(), format='png')\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "chart.py")
        with open(path, "w") as f:
            f.write(wrapper)
        done = subprocess.run([sys.executable, path], cwd=tmp, capture_output=True, timeout=60)
    return done.returncode == 0


def timed(label: str, function, n: int) -> float:
    start = time.perf_counter()
    ok = function()
    seconds = time.perf_counter() - start
    rate = n / seconds
    print(f"{label:<14} {n} programs in {seconds:6.1f} s = {rate:6.2f} charts/s ({ok} ran)", flush=True)
    return rate


def compare(codes: list[str], workers: int) -> None:
    from msrl.execution.sandbox import RenderPool

    with RenderPool(workers=workers, timeout_s=30) as pool:  # start-up is not counted
        pool.map(codes[:2], extract=False)
        pool_rate = timed("pool", lambda: sum(r.ok for r in pool.map(codes, extract=False)), len(codes))
    with ProcessPoolExecutor(workers, initializer=_warm) as executor:
        list(executor.map(_exec_in_process, codes[:2]))
        inproc_rate = timed("in-process", lambda: sum(executor.map(_exec_in_process, codes)), len(codes))
    with ThreadPoolExecutor(workers) as executor:
        fresh_rate = timed("fresh python", lambda: sum(executor.map(_fresh_python, codes)), len(codes))
    print(
        f"pool / fresh python = {pool_rate / fresh_rate:5.1f}x  (target >= 6x; "
        f"ceiling in-process / fresh python = {inproc_rate / fresh_rate:.1f}x)"
    )
    print(f"pool / in-process   = {pool_rate / inproc_rate:5.2f}x  (target >= 0.7x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import warnings

    warnings.filterwarnings("ignore")
    print(f"CPU: {cpu_line()}; {args.workers} at a time, {os.cpu_count()} cores")
    for name, codes in program_sets(args.n).items():
        print(f"\n== {len(codes)} {name}")
        compare(codes, args.workers)


if __name__ == "__main__":
    main()
