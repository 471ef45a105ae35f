"""Vision warm-up: teach a from-scratch vision tower to see charts before SFT teaches the code.

Not in the paper (its Qwen2.5-VL-7B comes with a trained vision tower). Our tiny model is trained
from scratch, and plain SFT never learned to use its image: after 750 steps the small model wrote
the same chart for every input, and even a warm-up on the programs' plan line alone ("# chart type:
...") ended with one chart type for all 64 held-out charts. The vision features carried the
information (a linear probe on the untrained tower's mean features found the chart type 55 % of the
time), but the language model learned the constant parts of the code first and then the image
tokens turned into a large constant (feature norm 2 -> 60) that carried nothing.

Here the vision tower and its merger are trained alone (1,600 steps at the small preset), with
linear heads on the **mean of the image tokens** that the language model will see. The targets come
from the corpus itself: the chart type and the colour palette of each chart. A mean is what an
untrained attention head computes, so after the warm-up the language model finds these facts in the
plain average of its image tokens. The heads are thrown away; the model is saved as a normal
checkpoint.

Not a target: the chart's text. A head scoring the tokenizer's tokens from each image token
(max-pooled) found 31 % of a held-out chart's text tokens, where a fixed ranking by frequency finds
28 %: at 224 px this tower does not learn letters (results/LOG.md, 2026-12-02).
"""

from __future__ import annotations

import json
import time

TARGETS = ("chart_type", "palette")  # corpus facts the heads predict


def targets(rows) -> dict[str, list[str]]:
    """Per-row labels: the chart type, and the palette from the row's spec (style.palette)."""
    specs = [json.loads(s) for s in rows["spec"]]
    return {
        "chart_type": list(rows["chart_type"]),
        "palette": [str(spec.get("style", {}).get("palette", "")) for spec in specs],
    }


def image_tokens(model, image_processor, images):
    """The merged image tokens of each image (what the language model receives), as a list."""
    inputs = image_processor(images=[image.convert("RGB") for image in images], return_tensors="pt")
    output = model.model.visual(inputs["pixel_values"], grid_thw=inputs["image_grid_thw"])
    tokens = output.pooler_output if hasattr(output, "pooler_output") else output
    merge = model.config.vision_config.spatial_merge_size**2
    counts = [int(t * h * w) // merge for t, h, w in inputs["image_grid_thw"].tolist()]
    return list(tokens.split(counts))


def warm_up_vision(
    model,
    processor,
    rows,
    steps: int,
    lr: float,
    batch_size: int = 16,
    seed: int = 0,
    weight_decay: float = 0.01,
    rise: float = 0.1,
    progress=None,
) -> dict:
    """Train ``model``'s vision tower and merger (in place) to predict ``TARGETS`` from the mean image
    token; returns {"steps", "seconds", "accuracy": {target: last-50-steps train accuracy}, "log"}."""
    import torch

    labels = targets(rows)
    classes = {name: sorted(set(values)) for name, values in labels.items()}
    index = {name: torch.tensor([classes[name].index(v) for v in values]) for name, values in labels.items()}
    width = model.config.vision_config.out_hidden_size
    generator = torch.Generator().manual_seed(seed)
    heads = torch.nn.ModuleDict({name: torch.nn.Linear(width, len(c)) for name, c in classes.items()})
    vision = model.model.visual
    was_training = model.training
    model.train()
    optimizer = torch.optim.AdamW([*vision.parameters(), *heads.parameters()], lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(1, steps), pct_start=rise)
    images = rows["image"]
    log, hits = [], {name: [] for name in classes}
    start = time.perf_counter()
    for step in range(steps):
        chosen = torch.randint(len(images), (batch_size,), generator=generator).tolist()
        tokens = image_tokens(model, processor.image_processor, [images[i] for i in chosen])
        pooled = torch.stack([t.mean(0) for t in tokens])
        loss = 0.0
        for name, head in heads.items():
            logits = head(pooled)
            target = index[name][chosen]
            loss = loss + torch.nn.functional.cross_entropy(logits, target)
            hits[name].append(float((logits.argmax(-1) == target).float().mean()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        log.append({"step": step + 1, "loss": loss.item()})
        if progress and (step + 1) % 50 == 0:
            progress(f"vision warm-up step {step + 1}/{steps}: loss {float(loss):.3f}")
    model.train(was_training)
    accuracy = {name: sum(h[-50:]) / max(1, len(h[-50:])) for name, h in hits.items()}
    return {"steps": steps, "seconds": time.perf_counter() - start, "accuracy": accuracy, "log": log}
