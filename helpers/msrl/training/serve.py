"""Serve a checkpoint over an OpenAI-compatible API with ``transformers serve``, as the MLLM judge
(msrl.scoring.judges.mllm) talks to it: ``python -m msrl.training.serve MODEL --port 8000``.

Every argument after the module name goes to ``transformers serve``. The one thing added is the
torchvision shim (tvshim.py), without which a Qwen2.5-VL processor does not load on our CPU machines.
It serves our tiny model for the judge's end-to-end test, or any Qwen2.5-VL checkpoint on a machine
without vLLM. At paper scale the judge is Qwen2.5-VL-72B behind ``vllm serve`` (README, Judges).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from msrl.training import tvshim

    tvshim.apply()
    from transformers.cli.transformers import main as transformers_cli

    sys.argv = ["transformers", "serve", *(sys.argv[1:] if argv is None else argv)]
    transformers_cli()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
