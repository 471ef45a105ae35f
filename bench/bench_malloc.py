"""glibc malloc settings and SFT step time: glibc's defaults against the runner's ``KERNEL_MALLOC_ENV``.

    python bench/bench_malloc.py [--run-dir outputs/small] [--steps 60] [--rounds 2]

Each measurement is a fresh process that trains ``--steps`` SFT steps of the small preset from the
run's warm-up model (02's start, as 03's runs start), on the run's corpus, and reports seconds and
minor page faults per step. The two settings alternate (default, runner, default, runner, ...), so
that a drift of the machine's speed hits both. A fresh process is the settings' smallest effect: in
a notebook kernel, which has allocated and freed much more before its training starts, 02's SFT
steps took 0.77 s with glibc's defaults and 0.62 s with the runner's settings (README, Benchmarks).
"""

from __future__ import annotations

import argparse
import json
import os

from shared_setup import add_run_dir_argument, alternating_children, cpu_line, sft_step_time


def child(run_dir, steps: int) -> None:
    print(json.dumps(sft_step_time(run_dir, steps)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_dir_argument(parser)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.run_dir, args.steps)

    from msrl.run import KERNEL_MALLOC_ENV

    plain = {k: v for k, v in os.environ.items() if k not in KERNEL_MALLOC_ENV}
    settings = {"glibc defaults": plain, "runner (KERNEL_MALLOC_ENV)": {**plain, **KERNEL_MALLOC_ENV}}
    print(f"CPU: {cpu_line()}; {args.steps} SFT steps per process, small preset, from {args.run_dir}")
    print("| setting | round | s per step | minor faults per step |")
    print("|---|---|---|---|")
    times: dict[str, list[float]] = {name: [] for name in settings}
    children = {name: (["--child"], env) for name, env in settings.items()}
    for name, round_, result in alternating_children(__file__, args.run_dir, args.steps, args.rounds, children):
        times[name].append(result["step_s"])
        print(f"| {name} | {round_} | {result['step_s']:.3f} | {result['faults']:,.0f} |", flush=True)
    default, runner = (min(t) for t in times.values())
    print(f"best step time, runner / defaults: {runner / default:.2f} ({runner:.3f} s against {default:.3f} s)")


if __name__ == "__main__":
    main()
