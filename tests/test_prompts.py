"""The policy's prompt: the instruction alone, or with the text OCR read in the chart
(ModelPreset.ocr_prompt); the corpus column it comes from; generation with per-image texts."""

from __future__ import annotations

import io

import pytest

from msrl.execution import ocr
from msrl.presets import PAPER, SMALL, SMOKE
from msrl.training import generate, prompts


def _user_text(messages) -> str:
    (turn,) = messages
    assert turn["role"] == "user" and turn["content"][0] == {"type": "image"}
    return turn["content"][1]["text"]


def test_without_chart_text_the_prompt_is_the_instruction_alone():
    assert _user_text(prompts.prompt_messages("Write code.")) == "Write code."


def test_the_chart_text_keeps_whole_lines_in_order_up_to_the_cap():
    read = "Sales by category\n\n  America \nEurope\n" + "\n".join(f"line {i:03d} " + "x" * 40 for i in range(20))
    text = _user_text(prompts.prompt_messages("Write code.", read))
    header, block = text.split(f"\n{prompts.TEXT_HEADER}\n")
    assert header == "Write code."
    lines = block.split("\n")
    assert lines[:3] == ["Sales by category", "America", "Europe"]  # blank lines dropped, spaces trimmed
    assert len(block) <= prompts.MAX_TEXT_CHARS
    assert all(line in read for line in lines)  # whole lines only, never a cut one
    assert len(lines) < 23  # the cap dropped the last lines


def test_only_the_paper_preset_leaves_the_reading_to_the_model():
    assert SMOKE.model.ocr_prompt and SMALL.model.ocr_prompt and not PAPER.model.ocr_prompt


def test_chart_texts_reads_only_what_it_is_not_given(chart_png):
    from PIL import Image

    if not ocr.available():
        pytest.skip("Tesseract is not installed")
    image = Image.open(io.BytesIO(chart_png)).convert("RGB")
    given, read = prompts.chart_texts([image, image], known=["from the corpus", None])
    assert given == "from the corpus"
    assert "Counts" in ocr.lines(read)  # the chart's title, as drawn


def test_the_smoke_corpus_stores_what_ocr_reads_in_each_chart(smoke_corpus):
    _, dataset, _, _ = smoke_corpus
    split = dataset["eval"]
    assert "chart_text" in split.column_names
    assert split[0]["chart_text"] == ocr.texts_many([split[0]["image"]])[0]  # the same reading, not a copy of the code


def test_generation_puts_each_images_text_in_its_own_prompt(tiny_checkpoint, chart_png):
    from PIL import Image

    from msrl.training.model import load_model_and_processor

    model, processor = load_model_and_processor(tiny_checkpoint)
    image = Image.open(io.BytesIO(chart_png)).convert("RGB")
    texts = ["Counts", "A much longer title\nand a legend\nwith three lines", "Counts"]
    together = generate.generate_code(model, processor, [image] * 3, "Write code.", 20, batch_size=3, chart_texts=texts)
    alone = [
        generate.generate_code(model, processor, [image], "Write code.", 20, chart_texts=[text])[0] for text in texts
    ]
    assert together == alone  # prompts of different lengths are padded and come back in input order
    assert together[0] == together[2]


def test_shards_built_without_chart_text_get_it_when_the_dataset_is_saved(smoke_corpus, tmp_path):
    import shutil

    import pandas as pd

    from msrl.data import corpus

    folder, dataset, _, _ = smoke_corpus
    shards = tmp_path / "corpus" / corpus.SHARDS_DIR
    shutil.copytree(folder / "corpus" / corpus.SHARDS_DIR, shards)
    first = sorted(shards.glob("eval-*.parquet"))[0]
    pd.read_parquet(first).drop(columns=["chart_text"]).to_parquet(first, index=False)  # an older build's shard
    builder = corpus.CorpusBuilder(SMOKE, tmp_path / "corpus", pool=object())  # saving renders nothing
    again = corpus.load_corpus(builder.save_dataset())
    assert again["eval"]["chart_text"] == dataset["eval"]["chart_text"]
    assert "chart_text" in pd.read_parquet(first).columns  # read once: the shard keeps it


def test_rl_prompts_carry_the_text_and_keep_it_for_the_judge(smoke_corpus):
    from msrl.training.grpo import rl_prompts

    _, dataset, _, _ = smoke_corpus
    rows = rl_prompts(dataset["rl"], "Write code.", 2, ocr_prompt=True)
    assert set(rows.column_names) == {"prompt", "image", "record", "chart_text"}
    for row, text in zip(rows, dataset["rl"]["chart_text"][:2]):
        assert _user_text(row["prompt"]).startswith(f"Write code.\n{prompts.TEXT_HEADER}\n")
        assert row["chart_text"] == text
    assert _user_text(rl_prompts(dataset["rl"], "Write code.", 1)[0]["prompt"]) == "Write code."


def test_text_read_in_another_process_is_not_read_again(chart_png, monkeypatch):
    from PIL import Image

    image = Image.open(io.BytesIO(chart_png))  # as the dataset decodes it; the judge reads it as RGB
    ocr.clear_cache()
    ocr.remember([image], ["Counts\na b c"])
    monkeypatch.setattr(ocr, "_read", lambda *args: pytest.fail("read again"))
    assert ocr.words_many([image.convert("RGB")]) == [["counts"]]  # the judge's words, from the kept text
    ocr.clear_cache()


def test_a_changed_prompt_recipe_is_not_served_from_the_datasets_cache(smoke_corpus, monkeypatch):
    from msrl.training.grpo import rl_prompts
    from msrl.training.sft import to_sft_dataset

    _, dataset, _, _ = smoke_corpus  # loaded from disk: `datasets` caches what `map` writes
    sft, rl = dataset["sft"], dataset["rl"]
    before = (to_sft_dataset(sft, "Write code.", ocr_prompt=True), rl_prompts(rl, "Write code.", 2, ocr_prompt=True))
    monkeypatch.setattr(prompts, "MAX_TEXT_CHARS", 0)  # the recipe changes, the data does not
    after = (to_sft_dataset(sft, "Write code.", ocr_prompt=True), rl_prompts(rl, "Write code.", 2, ocr_prompt=True))
    for old, new in zip(before, after):
        assert all(_user_text(p) == f"Write code.\n{prompts.TEXT_HEADER}\n" for p in new["prompt"])
        assert any(_user_text(p) != f"Write code.\n{prompts.TEXT_HEADER}\n" for p in old["prompt"])
