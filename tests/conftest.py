"""Shared fixtures. Everything runs in one pytest process: importing transformers/trl costs seconds."""

from __future__ import annotations

import io
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SAMPLE_CODE = [
    "import matplotlib.pyplot as plt\n\nfig, ax = plt.subplots(figsize=(4, 3))\n"
    "ax.bar(['Q1', 'Q2', 'Q3'], [12.5, 30.25, 7.0], color='#1f77b4')\n"
    "ax.set_title('Revenue by quarter')\nax.set_ylabel('Revenue (M$)')\nplt.tight_layout()\nplt.show()\n",
    "import numpy as np\nimport matplotlib.pyplot as plt\n\nx = np.linspace(0, 10, 50)\n"
    "plt.figure(figsize=(5, 3))\nplt.plot(x, np.sin(x), linestyle='--', marker='o', label='sin')\n"
    "plt.legend()\nplt.grid(True)\nplt.xlabel('Time (s)')\nplt.show()\n",
    "import seaborn as sns\nimport pandas as pd\nimport matplotlib.pyplot as plt\n\n"
    "df = pd.DataFrame({'group': ['a', 'b', 'c'], 'value': [3, 1, 2]})\n"
    "sns.barplot(data=df, x='group', y='value', palette='viridis')\nplt.title('Counts')\nplt.show()\n",
]


@pytest.fixture(scope="session")
def chart_png() -> bytes:
    """A small rendered bar chart (our own code, so drawn in-process)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2), dpi=60)
    ax.bar(["a", "b", "c"], [3, 1, 2], color="tab:orange")
    ax.set_title("Counts")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A tiny Qwen2.5-VL checkpoint (smoke sizes) built from config, laid out like a hub checkpoint."""
    from msrl.presets import SMOKE
    from msrl.training.model import create_tiny_checkpoint

    out = tmp_path_factory.mktemp("tiny_ckpt")
    return create_tiny_checkpoint(out, SAMPLE_CODE * 20, SMOKE.model, seed=0)


@pytest.fixture(scope="session")
def smoke_corpus(tmp_path_factory):
    """A smoke-scale corpus (built once per test session): (folder, DatasetDict, tokenizer folder, report)."""
    from msrl.data import corpus
    from msrl.execution.sandbox import RenderPool
    from msrl.presets import SMOKE

    out = tmp_path_factory.mktemp("smoke_corpus")
    with RenderPool(workers=2, dpi=SMOKE.data.dpi, max_px=SMOKE.data.image_px) as pool:
        builder = corpus.CorpusBuilder(SMOKE, out / "corpus", pool=pool)
        report = builder.build(out / "tokenizer")
        dataset = corpus.load_corpus(builder.save_dataset())
    return out, dataset, out / "tokenizer", report


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The whole notebook series run once at the smoke preset: (run folder, manifest)."""
    from msrl.run import run_series

    run_dir = tmp_path_factory.mktemp("smoke_run")
    return run_dir, run_series("smoke", run_dir, echo=lambda message: None)


def process_parents() -> dict[int, int]:
    """pid -> parent pid of every live process, from /proc (zombies are gone, only not yet reaped)."""
    from pathlib import Path

    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``."""
    parents, found, frontier = process_parents(), set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found
