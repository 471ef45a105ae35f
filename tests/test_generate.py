"""Evaluation generation: the loop rule, the length-sorted batching that keeps the input order."""

import torch

from msrl.training import generate


def test_the_loop_rule_fires_on_long_repetition_only():
    row = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]  # a 12-token data row
    three_rows = [1, 2] + row * 3 + [3, 4]  # a greedy model repeats a row 3 times, then goes on
    stuck = [1, 2] + row * 9  # the same row 9 times: stuck
    digits = [1] + [0] * 20 + [5]  # "1000...05": a long number, not a loop
    varied = [(i * i + 3 * i) % 17 for i in range(120)]  # rows that differ
    pad = lambda ids: [99] * (120 - len(ids)) + ids  # noqa: E731 (left padding to one length)
    ids = torch.tensor([pad(three_rows), pad(stuck), pad(digits), varied])
    assert generate.looping(ids, repeats=8).tolist() == [False, True, False, False]
    assert generate.looping(torch.tensor([pad(three_rows)]), repeats=3).tolist() == [False]  # ends with 3, 4
    assert generate.looping(torch.tensor([[4] * 95]), repeats=8).tolist() == [False]  # under MIN_LOOP tokens
    assert generate.looping(torch.tensor([[4] * 96]), repeats=8).tolist() == [True]


def test_generation_keeps_the_input_order_and_counts_what_it_stopped(tiny_checkpoint, chart_png):
    import io

    from PIL import Image

    from msrl.training.model import load_model_and_processor

    model, processor = load_model_and_processor(tiny_checkpoint)
    big = Image.open(io.BytesIO(chart_png)).convert("RGB")
    small = big.resize((big.width // 2, big.height // 2))
    images = [big, small, big]
    stats = generate.GenerationStats()
    together = generate.generate_code(
        model, processor, images, "Write code.", 30, batch_size=1, stats=stats, stop_repeats=8
    )
    alone = [generate.generate_code(model, processor, [image], "Write code.", 30, batch_size=1)[0] for image in images]
    assert together == alone  # batches go in size order, programs come back at their item's place
    assert stats.sequences == 3 and len(stats.per_sequence_stopped) == 3 and stats.new_tokens > 0
    plain = generate.generate_code(model, processor, images, "Write code.", 30, batch_size=1, stop_repeats=0)
    for stopped, short, full in zip(stats.per_sequence_stopped, together, plain):
        assert full.startswith(short) and (stopped or short == full)


def test_a_repetition_penalty_stays_deterministic_and_repeats_less(tiny_checkpoint, chart_png):
    import io

    from PIL import Image

    from msrl.training.model import load_model_and_processor

    model, processor = load_model_and_processor(tiny_checkpoint)
    image = Image.open(io.BytesIO(chart_png)).convert("RGB")
    tokens = lambda text: processor.tokenizer(text)["input_ids"]  # noqa: E731
    plain = generate.generate_code(model, processor, [image], "Write code.", 40)[0]
    penalised = [generate.generate_code(model, processor, [image], "Write code.", 40, repetition_penalty=3.0)[0]]
    penalised.append(generate.generate_code(model, processor, [image], "Write code.", 40, repetition_penalty=3.0)[0])
    assert penalised[0] == penalised[1]  # still greedy: the same program every time
    sparing = [
        generate.generate_code(
            model, processor, [image], "Write code.", 40, repetition_penalty=3.0, penalty_spares_quotes=True
        )[0]
        for _ in range(2)
    ]
    assert sparing[0] == sparing[1]
    share = lambda ids: len(set(ids)) / max(1, len(ids))  # noqa: E731 (distinct tokens per token)
    assert share(tokens(penalised[0])) > share(tokens(plain))


def test_the_quote_sparing_penalty_is_transformers_penalty_everywhere_but_on_quotes():
    import torch
    from transformers import RepetitionPenaltyLogitsProcessor

    torch.manual_seed(0)
    input_ids = torch.tensor([[1, 2, 3, 3, 5], [4, 4, 0, 6, 2]])
    scores = torch.randn(2, 8)
    plain = RepetitionPenaltyLogitsProcessor(1.5)(input_ids, scores.clone())
    sparing = generate.sparing_repetition_penalty(1.5, [3, 4])(input_ids, scores.clone())
    for token in range(8):
        expected = scores[:, token] if token in (3, 4) else plain[:, token]
        assert torch.equal(sparing[:, token], expected)
    assert not torch.equal(sparing, scores) and not torch.equal(sparing, plain)


def test_quote_tokens_are_the_tokens_with_a_quote_character(tiny_checkpoint):
    from msrl.training.model import load_model_and_processor

    _, processor = load_model_and_processor(tiny_checkpoint)
    tokenizer = processor.tokenizer
    quoted = set(generate.quote_token_ids(tokenizer))
    assert quoted and len(quoted) < len(tokenizer) // 4
    assert all(("'" in tokenizer.decode([i])) or ('"' in tokenizer.decode([i])) for i in quoted)
    assert set(tokenizer("x = 'a'")["input_ids"]) & quoted
