"""ipywidgets explorer for the ablations: pick an ablation, a metric and an example; see the target
chart and the generated chart side by side with the item's scores.

Notebooks create it only when ``INTERACTIVE`` (papermill runs save static figures instead). The
callbacks are plain methods, so tests drive the widget without a browser: set ``.ablation.value``,
``.metric.value`` or ``.example.value`` and read ``.state`` (what is shown).
"""

from __future__ import annotations

import io

from msrl.evaluation.statistics import summary_scale


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


class AblationExplorer:
    """``evaluations``: {ablation name: benchmark.ModelEvaluation} on the same items."""

    def __init__(self, evaluations: dict, metrics=("low_level", "judge", "text", "layout", "type", "color")):
        import ipywidgets as w

        if not evaluations:
            raise ValueError("no evaluations to explore")
        self.evaluations = evaluations
        first = next(iter(evaluations.values()))
        present = [m for m in metrics if m in first.evaluation.rows[0]] if first.evaluation.rows else list(metrics)
        self.ablation = w.Dropdown(options=list(evaluations), description="ablation")
        self.metric = w.Dropdown(options=present, description="metric")
        self.example = w.IntSlider(min=0, max=max(0, len(first.items) - 1), description="example")
        self.target = w.Image(format="png", width=320)
        self.generated = w.Image(format="png", width=320)
        self.caption = w.HTML()
        self.summary = w.HTML()
        self.state: dict = {}
        for control in (self.ablation, self.metric, self.example):
            control.observe(self._changed, names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.ablation, self.metric, self.example]),
                self.summary,
                w.HBox(
                    [
                        w.VBox([w.HTML("<b>target</b>"), self.target]),
                        w.VBox([w.HTML("<b>generated</b>"), self.generated]),
                    ]
                ),
                self.caption,
            ]
        )
        self.update()

    def _changed(self, change) -> None:
        self.update()

    def update(self) -> None:
        evaluation = self.evaluations[self.ablation.value]
        index = min(self.example.value, len(evaluation.items) - 1)
        item, result = evaluation.items[index], evaluation.results[index]
        row = next((r for r in evaluation.evaluation.rows if r["id"] == item["id"]), {})
        metric = self.metric.value
        self.target.value = _png(item["image"])
        image = result.image()
        self.generated.value = _png(image) if image is not None else b""
        value = row.get(metric)
        self.caption.value = (
            f"{item['id']} ({item['type']}): {result.status}"
            + (f" · {result.error[:160]}" if result.error else "")
            # shown on the summary's scale, like the mean above it
            + (f" · {metric} {value * summary_scale(metric):.1f}" if isinstance(value, float) else "")
        )
        mean = evaluation.summary.get(metric)
        self.summary.value = f"<b>{self.ablation.value}</b>: mean {metric} {mean:.1f}" if mean is not None else ""
        self.state = {
            "ablation": self.ablation.value,
            "metric": metric,
            "item": item["id"],
            "status": result.status,
            "value": value,
            "mean": mean,
            "has_generated": image is not None,
        }

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
