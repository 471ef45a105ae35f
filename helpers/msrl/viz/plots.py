"""Figures and inline displays for the notebooks (every plot a notebook shows is made here).

Functions return matplotlib figures (saved by the stage with ``stage.save_figure``) or display
HTML in the notebook; none of them runs model code (images come from the sandbox or the dataset).
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter


def _png_data_uri(image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def pairs_html(rows: list[dict], max_code_lines: int = 40) -> str:
    """Chart images with their code side by side (rows: dicts with ``image``, ``code``, ``chart_type``)."""
    cells = []
    for row in rows:
        code_lines = row["code"].splitlines()
        shown = "\n".join(code_lines[:max_code_lines]) + ("\n..." if len(code_lines) > max_code_lines else "")
        caption = html.escape(f"{row.get('chart_type', '')} · {row.get('library', '')} · {row.get('table_id', '')}")
        cells.append(
            "<div style='display:flex;gap:12px;margin-bottom:14px;align-items:flex-start'>"
            f"<img src='{_png_data_uri(row['image'])}' style='max-width:360px;border:1px solid #ddd'/>"
            f"<div><div style='font:12px sans-serif;color:#555'>{caption}</div>"
            f"<pre style='font-size:10px;max-height:320px;overflow:auto'>{html.escape(shown)}</pre></div></div>"
        )
    return "\n".join(cells)


def show_pairs(rows: list[dict], max_code_lines: int = 40) -> None:
    from IPython.display import HTML, display

    display(HTML(pairs_html(rows, max_code_lines)))


def gallery(images: list, titles: list[str], columns: int = 4, size: float = 3.0):
    """A grid of chart images with titles."""
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 0.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(image)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def side_by_side(pairs: list[tuple], titles: list[str], size: float = 3.0):
    """Rows of (target, generated) images; a missing generated image shows as 'did not run'."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(pairs), 2, figsize=(2 * size, len(pairs) * size * 0.8), squeeze=False)
    for (target, generated), title, (left, right) in zip(pairs, titles, axes):
        for ax in (left, right):
            ax.axis("off")
        left.imshow(target)
        left.set_title(f"target · {title}", fontsize=8)
        if generated is None:
            right.text(0.5, 0.5, "did not run", ha="center", va="center", color="crimson")
        else:
            right.imshow(generated)
        right.set_title("generated", fontsize=8)
    fig.tight_layout()
    return fig


def corpus_overview(splits: dict[str, dict[str, list]], filter_counts: dict):
    """Chart-type and library counts per split, code token lengths, and filter counts."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    types = sorted({t for columns in splits.values() for t in columns["chart_type"]})
    width = 0.8 / max(1, len(splits))
    for i, (split, columns) in enumerate(splits.items()):
        counts = Counter(columns["chart_type"])
        total = max(1, sum(counts.values()))
        axes[0, 0].bar(np.arange(len(types)) + i * width, [100 * counts[t] / total for t in types], width, label=split)
        libraries = Counter(columns["library"])
        axes[0, 1].bar([f"{split}\n{lib}" for lib in sorted(libraries)], [libraries[lib] for lib in sorted(libraries)])
        axes[1, 0].hist(columns["n_tokens"], bins=30, alpha=0.6, label=split)
    axes[0, 0].set_xticks(np.arange(len(types)) + width, types, rotation=45, ha="right")
    axes[0, 0].set_ylabel("% of split")
    axes[0, 0].set_title("Chart types per split")
    axes[0, 0].legend()
    axes[0, 1].set_title("Libraries per split")
    axes[1, 0].set_xlabel("code length (tokens)")
    axes[1, 0].set_title("Code token lengths")
    axes[1, 0].legend()
    names = list(filter_counts) or ["none"]
    axes[1, 1].barh(names, [filter_counts.get(n, 0) for n in names], color="gray")
    axes[1, 1].set_title("Candidates removed by each filter")
    fig.tight_layout()
    return fig


def loss_curve(log_history: list[dict], title: str = "SFT training loss"):
    import matplotlib.pyplot as plt

    points = [(h["step"], h["loss"]) for h in log_history if "loss" in h and "step" in h]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if points:
        steps, losses = zip(*points)
        ax.plot(steps, losses, marker=".", color="tab:blue")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (completion tokens)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def evaluation_gallery(model_evaluation, n: int = 6):
    """Target chart vs the chart the generated code draws, for the first ``n`` items."""
    pairs, titles = [], []
    for item, result, row in list(
        zip(model_evaluation.items, model_evaluation.results, model_evaluation.evaluation.rows)
    )[:n]:
        pairs.append((item["image"], result.image()))
        titles.append(f"{item['id']} ({item['type']}) low-level {row['low_level']:.0f}")
    return side_by_side(pairs, titles)


REWARD_SERIES = {
    "reward": "total reward",
    "rewards/execution/mean": "execution",
    "rewards/textual/mean": "textual",
    "rewards/visual/mean": "visual",
}


def reward_curves(histories: dict[str, list[dict]], window: int = 5):
    """Total reward and each component over steps (moving average), one line per run."""
    import matplotlib.pyplot as plt
    import numpy as np

    keys = [k for k in REWARD_SERIES if any(k in h for hs in histories.values() for h in hs)]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for label, history in histories.items():
            points = [(h["step"], h[key]) for h in history if key in h and "step" in h]
            if not points:
                continue
            steps, values = map(np.array, zip(*points))
            k = max(1, min(window, len(values)))
            smooth = np.convolve(values, np.ones(k) / k, mode="valid")
            ax.plot(steps[k - 1 :], smooth, label=label)
        ax.set_title(REWARD_SERIES[key])
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"GRPO rewards (moving average over {window} steps)")
    fig.tight_layout()
    return fig


def change_gallery(before, after, n: int = 4, improved: bool = True, key: str = "low_level"):
    """Target, before and after charts for the items whose ``key`` rose (or fell) the most."""
    import matplotlib.pyplot as plt

    rows_before = {r["id"]: r for r in before.evaluation.rows}
    images = {}
    for label, evaluation in (("before", before), ("after", after)):
        for item, result in zip(evaluation.items, evaluation.results):
            images[(label, item["id"])] = result.image()
    targets = {item["id"]: item["image"] for item in after.items}
    deltas = [(r[key] - rows_before[r["id"]][key], r["id"]) for r in after.evaluation.rows if r["id"] in rows_before]
    deltas = [d for d in sorted(deltas, reverse=improved) if (d[0] > 0 if improved else d[0] < 0)][:n]
    fig, axes = plt.subplots(max(1, len(deltas)), 3, figsize=(9, 2.6 * max(1, len(deltas))), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    if not deltas:
        axes[0, 1].text(0.5, 0.5, f"no item {'improved' if improved else 'got worse'}", ha="center")
    for (delta, item_id), row in zip(deltas, axes):
        for ax, label, image in zip(
            row,
            ("target", before.name, after.name),
            (targets[item_id], images[("before", item_id)], images[("after", item_id)]),
        ):
            if image is None:
                ax.text(0.5, 0.5, "did not run", ha="center", va="center", color="crimson")
            else:
                ax.imshow(image)
            ax.set_title(
                f"{label}" if label == "target" else f"{label} ({delta:+.0f})" if label == after.name else label,
                fontsize=7,
            )
    fig.suptitle(f"{'Improved' if improved else 'Worse'}: {key.replace('_', ' ')} change, largest first", fontsize=9)
    fig.tight_layout()
    return fig


def metric_bars(rows: list[dict], metrics=("execution_rate", "low_level", "judge"), group: str = "model"):
    """Bars of each metric per model (mean over seeds, whiskers: min..max), one panel per set x metric."""
    import matplotlib.pyplot as plt
    import numpy as np

    sets = list(dict.fromkeys(r["set"] for r in rows))
    metrics = [m for m in metrics if any(m in r for r in rows)]
    fig, axes = plt.subplots(len(sets), len(metrics), figsize=(4.2 * len(metrics), 3.2 * len(sets)), squeeze=False)
    for i, set_name in enumerate(sets):
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            names = list(dict.fromkeys(r[group] for r in rows if r["set"] == set_name))
            values = [
                [r[metric] for r in rows if r["set"] == set_name and r[group] == n and metric in r] for n in names
            ]
            means = [float(np.mean(v)) if v else 0.0 for v in values]
            low = [m - (min(v) if v else 0) for m, v in zip(means, values)]
            high = [(max(v) if v else 0) - m for m, v in zip(means, values)]
            ax.bar(range(len(names)), means, yerr=[low, high], capsize=3, color="tab:blue")
            ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
            ax.set_title(f"{set_name} · {metric.replace('_', ' ')}", fontsize=9)
            ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def examples_grid(evaluations: dict, n: int = 3):
    """Rows of examples: the target, then each model's generated chart (``evaluations``: name ->
    ModelEvaluation on the same items) - the static counterpart of the ablation explorer."""
    import matplotlib.pyplot as plt

    names = list(evaluations)
    if not names:  # e.g. the ChartMimic set when ../shared is absent
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no evaluations of this set", ha="center", va="center")
        return fig
    first = evaluations[names[0]]
    n = min(n, len(first.items))
    fig, axes = plt.subplots(
        max(1, n), len(names) + 1, figsize=(2.6 * (len(names) + 1), 2.2 * max(1, n)), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        axes[i, 0].imshow(first.items[i]["image"])
        axes[i, 0].set_title(f"target · {first.items[i]['type']}", fontsize=7)
        for j, name in enumerate(names, start=1):
            image = evaluations[name].results[i].image() if i < len(evaluations[name].results) else None
            if image is None:
                axes[i, j].text(0.5, 0.5, "did not run", ha="center", va="center", color="crimson", fontsize=8)
            else:
                axes[i, j].imshow(image)
            axes[i, j].set_title(name, fontsize=7)
    fig.tight_layout()
    return fig
