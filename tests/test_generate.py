"""Evaluation generation: the loop rule, the length-sorted batching that keeps the input order."""

import torch

from msrl.training import generate


def test_the_loop_rule_fires_on_repetition_and_not_on_digits_or_varied_rows():
    looping_row = [5, 6, 7, 8] * 10  # period 4, 40 tokens
    digits = [1, 2] + [0] * 10 + [3]  # "1000000000003": a long number, not a loop
    period_13 = [(i * 7) % 13 for i in range(40)]  # a 13-token loop, 3 times over
    rows = [(i * i + 3 * i) % 17 for i in range(40)]  # no period: rows that differ
    ids = torch.tensor([looping_row, digits + rows[:27], period_13, rows])
    assert generate.looping(ids).tolist() == [True, False, True, False]
    assert generate.looping(torch.tensor([[1, 2, 3] * 4])).tolist() == [False]  # 12 tokens: too short to say
    assert generate.looping(torch.tensor([[4] * 23])).tolist() == [False]
    assert generate.looping(torch.tensor([[4] * 24])).tolist() == [True]


def test_generation_keeps_the_input_order_and_counts_what_it_stopped(tiny_checkpoint, chart_png):
    import io

    from PIL import Image

    from msrl.training.model import load_model_and_processor

    model, processor = load_model_and_processor(tiny_checkpoint)
    big = Image.open(io.BytesIO(chart_png)).convert("RGB")
    small = big.resize((big.width // 2, big.height // 2))
    images = [big, small, big]
    stats = generate.GenerationStats()
    together = generate.generate_code(model, processor, images, "Write code.", 30, batch_size=1, stats=stats)
    alone = [generate.generate_code(model, processor, [image], "Write code.", 30, batch_size=1)[0] for image in images]
    assert together == alone  # batches go in size order, programs come back at their item's place
    assert stats.sequences == 3 and len(stats.per_sequence_stopped) == 3 and stats.new_tokens > 0
    plain = generate.generate_code(model, processor, images, "Write code.", 30, batch_size=1, stop_looping=False)
    for stopped, short, full in zip(stats.per_sequence_stopped, together, plain):
        assert full.startswith(short) and (stopped or short == full)
