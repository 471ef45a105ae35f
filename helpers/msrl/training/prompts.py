"""The user turn the policy sees: the chart image, the instruction and, where the preset asks for it
(``ModelPreset.ocr_prompt``), the text that Tesseract reads in that image.

Departure from the paper (small and smoke presets): Qwen2.5-VL-7B reads a chart's title, labels and
legend itself. Our tiny vision tower, trained from scratch on 3,000 charts, does not learn to read
(results/LOG.md, 2026-12-02: a text head on its image tokens found a chart's words barely better than
word frequency). So the small presets hand the policy what an OCR engine reads in its input image,
as the embedded judge does for its own text dimension. The text comes from the image alone (the
same image the model sees, never the reference program), so a deranged image brings its own text
and the image-dependence control still measures what the input changes. The paper preset leaves it
off: the VLM reads.
"""

from __future__ import annotations

from msrl.execution import ocr

TEXT_HEADER = "Text read in the chart:"
# Lines beyond this many characters are dropped (whole lines). 80, not 300: the first lines (title,
# then axis text) carry what the model copies; on ChartMimic, whose charts read more text, most
# failing programs were loops to the token cap. The two SFT models trained at 300, re-decoded at 80:
# ChartMimic execution 75.0 / 50.0 % against 53.1 / 37.5 %, `eval` low-level 51.1 / 50.6 against
# 50.6 / 50.0, text F1 20.3 / 22.7 against 19.1 / 21.0. Trained at 80 (two seeds): `eval` level with
# 300 (execution 79.0 against 77.5 %), ChartMimic execution 59.4 against 45.3 % (results/LOG.md).
MAX_TEXT_CHARS = 80


def text_block(read: str) -> str:
    """The lines Tesseract read, in its order (top to bottom), cut at ``MAX_TEXT_CHARS``."""
    kept, used = [], 0
    for line in ocr.lines(read):
        if used + len(line) > MAX_TEXT_CHARS:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def prompt_messages(instruction: str, chart_text: str | None = None) -> list[dict]:
    """TRL's conversational user turn; ``chart_text`` (what OCR read, raw) is appended when given."""
    text = instruction if chart_text is None else f"{instruction}\n{TEXT_HEADER}\n{text_block(chart_text)}"
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


def chart_texts(images, known=None, workers: int = 2) -> list[str]:
    """What Tesseract reads in each PIL image; ``known[i]`` where it is not None (the corpus's
    ``chart_text`` column, read once when the corpus was built)."""
    known = list(known) if known is not None else [None] * len(images)
    todo = [i for i, text in enumerate(known) if text is None]
    if todo:
        ocr.require("model.ocr_prompt (the chart's text in the prompt)")
        for i, text in zip(todo, ocr.texts_many([images[i] for i in todo], workers=workers)):
            known[i] = text
    return known


def split_chart_texts(split) -> list[str]:
    """OCR text of every row of a corpus split: its ``chart_text`` column, or read now if it lacks one."""
    if "chart_text" in split.column_names:
        return list(split["chart_text"])
    return chart_texts(split["image"])


def split_prompts(split, instruction: str, ocr_prompt: bool) -> list[list[dict]]:
    """The finished user turn of every row of a corpus split (with its OCR text under ``ocr_prompt``).
    SFT and GRPO build these before ``datasets.map`` and look them up by index inside it: ``map``
    serves a cache file keyed by a hash of its function and what that closes over, and a change in
    how a prompt is built (the text's cap, a module constant) must reach that hash, or the old
    recipe's prompts are served."""
    texts = split_chart_texts(split) if ocr_prompt else [None] * len(split)
    return [prompt_messages(instruction, text) for text in texts]
