"""Corpus build throughput on this machine: charts/s of the real build, beside the ceiling.

    python bench/bench_corpus.py [--n 400]

Prints, in one run:
- the build rate: accepted pairs per second of a fresh build (tables loaded and the tokenizer trained
  beforehand, not counted), with every chart rendered in the sandbox pool (2 workers);
- the drawing ceiling: the same programs executed and drawn (plain ``savefig``) in-process,
  unsandboxed, in two processes;
- the same with the sandbox's single drawing pass (``child._draw_once``: savefig draws a figure
  with a layout engine twice), so that the last ratio is what the sandbox itself costs.

Target (issue 16): build / ceiling >= 0.8 (issue 3's 30 charts/s is above the ceiling on 2 cores).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from bench_sandbox import _exec_in_process, _warm
from shared_setup import cpu_line

DPI = 64  # the small preset's render dpi (both sides draw at it)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    args = parser.parse_args()
    import warnings

    warnings.filterwarnings("ignore")
    from msrl.data.corpus import CorpusBuilder
    from msrl.presets import get_preset

    preset = get_preset(
        "small", {"data.dpi": DPI, "data.n_sft": args.n, "data.n_rl": 16, "data.n_eval": 16, "data.shard_size": 200}
    )
    with tempfile.TemporaryDirectory() as tmp:
        builder = CorpusBuilder(preset, Path(tmp) / "corpus")
        report = builder.build(Path(tmp) / "tokenizer")
        import pandas as pd

        codes = [c for p in builder._shard_paths("sft") for c in pd.read_parquet(p)["code"]]
    built = sum(report.n_pairs.values())
    print(f"CPU: {cpu_line()}, 2 render workers")
    print(
        f"build: {built} pairs ({report.rendered} rendered of {report.attempted} candidates) in {report.seconds:.1f} s "
        f"= {report.charts_per_s:.1f} charts/s (filters: {dict(report.filter_counts)})"
    )

    rates = {}
    with ProcessPoolExecutor(2, initializer=_warm) as executor:
        for one_pass in (False, True):
            draw = partial(_exec_in_process, dpi=DPI, one_pass=one_pass)
            list(executor.map(draw, codes[:4]))
            start = time.perf_counter()
            ran = sum(executor.map(draw, codes))
            rates[one_pass] = len(codes) / (time.perf_counter() - start)
    ceiling = rates[False]
    print(
        f"ceiling: {ran}/{len(codes)} of the same programs drawn in-process, unsandboxed, "
        f"2 processes, dpi {DPI}, plain savefig = {ceiling:.1f} charts/s"
    )
    print(
        f"build / ceiling = {report.charts_per_s / ceiling:.2f};  target >= 0.8: "
        f"{'met' if report.charts_per_s >= 0.8 * ceiling else 'not met'}"
    )
    print(
        f"the same, drawn in-process with the sandbox's single drawing pass = {rates[True]:.1f} charts/s; "
        f"build / that = {report.charts_per_s / rates[True]:.2f} (the cost of the sandbox alone)"
    )


if __name__ == "__main__":
    main()
