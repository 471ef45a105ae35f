"""SFT step time with and without the chart's OCR text in the prompt (``model.ocr_prompt``), side by side.

    python bench/bench_prompt_text.py [--run-dir outputs/small] [--steps 60] [--rounds 2]

The small preset's series took 52 minutes without the OCR text and 90 with it on the same Xeon kind,
on different days, with an SFT step of 0.52 s against 0.82 s (README, Results). The text adds about
15 % to a sequence, which does not explain 58 %. This measures the two recipes in one run: each
measurement is a fresh process (with the runner's malloc settings, as the series' kernels) that
trains ``--steps`` SFT steps of the small preset from the run's warm-up model on its corpus, with the
OCR text in the prompt or without it. The two alternate (with, without, with, ...), so that a drift
of the machine's speed hits both. The model and its data are the same; only the prompt differs.
"""

from __future__ import annotations

import argparse
import json
import os

from shared_setup import add_run_dir_argument, alternating_children, cpu_line, sft_step_time


def child(run_dir, steps: int, ocr_prompt: bool) -> None:
    import dataclasses

    from msrl.presets import get_preset

    small = get_preset("small")
    preset = dataclasses.replace(small, model=dataclasses.replace(small.model, ocr_prompt=ocr_prompt))
    print(json.dumps(sft_step_time(run_dir, steps, preset)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_dir_argument(parser)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=("with", "without"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.run_dir, args.steps, args.child == "with")

    from msrl.run import KERNEL_MALLOC_ENV

    env = {**os.environ, **KERNEL_MALLOC_ENV}
    print(f"CPU: {cpu_line()}; {args.steps} SFT steps per process, small preset, from {args.run_dir}")
    print("| prompt | round | s per step |")
    print("|---|---|---|")
    times: dict[str, list[float]] = {"with": [], "without": []}
    children = {name: (["--child", name], env) for name in times}
    for name, round_, result in alternating_children(__file__, args.run_dir, args.steps, args.rounds, children):
        times[name].append(result["step_s"])
        print(f"| {name} the OCR text | {round_} | {result['step_s']:.3f} |", flush=True)
    with_text, without = min(times["with"]), min(times["without"])
    ratio = with_text / without
    print(f"best step time, with / without the OCR text: {ratio:.2f} ({with_text:.3f} s against {without:.3f} s)")


if __name__ == "__main__":
    main()
