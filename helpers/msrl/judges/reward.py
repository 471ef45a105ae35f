"""The registered TRL reward ``visual``: the configured judge's total / 100 for each completion.

Completions are executed through the shared ``CompletionRenderer`` (once for all rewards); the
reference image is the RL dataset's ``image`` column (TRL passes dataset columns to rewards).
A completion that does not draw a figure scores 0.
"""

from __future__ import annotations

from ..rewards import get_renderer, register
from .embedded import EmbeddedJudge

_state = {"judge": None}


def configure_visual(judge) -> None:
    """Use ``judge`` (anything with ``score_many``) for the ``visual`` reward."""
    _state["judge"] = judge


def get_judge():
    if _state["judge"] is None:
        _state["judge"] = EmbeddedJudge()
    return _state["judge"]


@register("visual")
def visual_reward(completions, **columns) -> list[float]:
    references = columns.get("image")
    if references is None:
        raise KeyError("the visual reward needs the dataset's `image` column (the reference chart)")
    results = get_renderer().results(completions)
    candidates = [r.png if r.ok else None for r in results]
    scores = get_judge().score_many(list(references)[:len(completions)], candidates)
    return [s.total / 100.0 for s in scores]
