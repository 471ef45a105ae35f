"""The plateau study's aggregation and the rule that names where a curve flattens."""

import pytest

from msrl.studies import plateau


def rows(variant, values_by_size):
    return [
        {"variant": variant, "size": size, "seed": seed, "low_level": value}
        for size, values in values_by_size.items()
        for seed, value in enumerate(values)
    ]


def test_aggregate_gives_mean_and_spread_over_seeds_by_size():
    curve = plateau.aggregate(rows("uniform", {200: [10, 14], 100: [4, 6]}), "low_level")["uniform"]
    assert curve == [(100, 5.0, 1.0), (200, 12.0, 2.0)]


def test_a_knee_is_named_only_where_the_curve_rises_and_then_flattens():
    rising_then_flat = [(100, 10.0, 0), (200, 20.0, 0), (400, 26.0, 0), (800, 26.5, 0), (1600, 27.0, 0)]
    assert plateau.plateau_point(rising_then_flat, min_gain=1.0) == 400
    zero = [(25, 0.0, 0), (50, 0.0, 0), (100, 0.0, 0), (200, 0.0, 0)]
    assert plateau.plateau_point(zero) is None  # flat at zero: nothing rose, no knee
    monotone = [(25, 1.0, 0), (50, 5.0, 0), (100, 9.0, 0), (200, 14.0, 0)]
    assert plateau.plateau_point(monotone) is None  # still rising at the largest size
    dip_then_rise = [(25, 5.0, 0), (50, 4.0, 0), (100, 9.0, 0)]
    assert plateau.plateau_point(dip_then_rise) is None
    # the small one-pass run: a collapse to 0 at 1,800 pairs, then 31 and 26: no knee
    collapse = [(1200, 19.3, 2.5), (1800, 0.0, 0), (2400, 31.5, 1.2), (3000, 25.8, 6.9)]
    assert plateau.plateau_point(collapse) is None
    assert plateau.plateau_point([(1200, 19.3, 0), (1800, 25.0, 0), (2400, 31.5, 0), (3000, 31.0, 0)]) == 2400
    assert plateau.plateau_point([(100, 1.0, 0), (400, 9.0, 0), (800, 9.2, 0)], min_gain=3.0) == 400
    assert plateau.plateau_point([(100, 1.0, 0), (400, 9.0, 0), (800, 9.2, 0)], min_gain=4.5) is None  # 4 per doubling
    assert plateau.plateau_point([(100, 5.0, 0)]) is None


def test_a_fall_after_the_rise_is_not_a_plateau():
    # the small series' token-weighted execution (one seed): up to 71.9 % at 2,400 pairs, then 31.2 %
    rise_then_fall = [(1200, 0.0, 0), (1600, 18.8, 0), (2000, 34.4, 0), (2400, 71.9, 0), (3000, 31.2, 0)]
    assert plateau.plateau_point(rise_then_fall) is None
    assert plateau.plateau_point([*rise_then_fall[:4], (3000, 70.0, 0)]) == 2400  # level within a quarter of the rise


def test_the_seeds_spread_decides_what_counts_as_a_rise_or_a_fall():
    inside_the_spread = [(100, 10.0, 8.0), (200, 20.0, 8.0), (400, 20.5, 8.0)]
    assert plateau.plateau_point(inside_the_spread) is None
    assert plateau.plateau_point([(100, 10.0, 2.0), (200, 20.0, 2.0), (400, 20.5, 2.0)]) == 200
    # a dip inside the spread does not hide the rise to 800 that follows
    noisy = [(100, 10.0, 1.0), (200, 30.0, 10.0), (400, 22.0, 10.0), (800, 40.0, 1.0), (1600, 40.5, 1.0)]
    assert plateau.plateau_point(noisy) == 800
    # the small series' uniform execution, seeds 0 and 1 (mean, std): it still rises at 3,000 pairs
    uniform = [(1200, 7.8, 1.6), (1600, 43.8, 6.2), (2000, 21.9, 21.9), (2400, 46.9, 12.5), (3000, 67.2, 17.2)]
    assert plateau.plateau_point(uniform) is None


def test_the_report_says_no_plateau_where_there_is_no_knee():
    from msrl.studies import report

    assert report._flattens({"low_level": None, "execution_rate": 200}) == (
        "low level no plateau within these sizes, execution rate 200"
    )


def test_completed_runs_resume_from_the_jsonl(tmp_path):
    (tmp_path / plateau.RUNS_FILE).write_text('{"size": 100, "seed": 0, "variant": "uniform"}\n\n')
    assert plateau.completed_runs(tmp_path) == [{"size": 100, "seed": 0, "variant": "uniform"}]
    assert plateau.completed_runs(tmp_path / "none") == []


@pytest.mark.parametrize("metric", ["execution_rate", "low_level"])
def test_plot_draws_every_variant(metric):
    data = rows("uniform", {100: [1, 2], 200: [3, 4]}) + rows("token_weighted", {100: [2, 2], 200: [5, 5]})
    for row in data:
        row.update(
            {m: row["low_level"] for m in ("execution_rate", "type_named", "layout", "type", "color", "final_loss")}
        )
    fig = plateau.plot(data)
    assert len(fig.axes[0].containers) == 2  # one errorbar per variant
    assert fig.axes[6].get_title() == "final loss" and not fig.axes[7].get_visible()


def test_one_pass_points_are_the_steps_at_which_each_size_has_been_seen():
    import dataclasses

    from msrl.presets import get_preset

    small = get_preset("small")
    assert plateau.snapshot_steps(small, 3_000) == {1200: 150, 1600: 200, 2000: 250, 2400: 300, 3000: 375}
    assert plateau.snapshot_steps(small, 2_000) == {1200: 150, 1600: 200, 2000: 250}  # beyond one epoch: no point
    short = dataclasses.replace(small, sft=dataclasses.replace(small.sft, max_steps=250))
    assert plateau.snapshot_steps(short, 3_000) == {1200: 150, 1600: 200, 2000: 250}  # beyond the run: no point
    assert "one pass" in plateau.compute_protocol(small.plateau)


def test_one_pass_points_sit_at_the_end_of_a_length_sorted_block():
    """Batches grouped by length come in blocks of 50 steps sorted longest first: a size inside a block
    moves back to the end of the block before (the pairs seen there), the epoch's end stays one, and
    without grouping every size is its own step."""
    import dataclasses

    from msrl.presets import get_preset

    small = get_preset("small")
    odd = dataclasses.replace(small, plateau=dataclasses.replace(small.plateau, sizes=(1000, 1800, 1810, 2990, 2999)))
    assert plateau.length_block_steps(small.sft, 3_000) == 50  # 3,000 // 32 = 93 batches, capped at 50
    assert plateau.length_block_steps(small.sft, 320) == 10
    # 2,999 pairs: the epoch ends with a partial batch, at step 375
    assert plateau.snapshot_steps(odd, 2_999) == {800: 100, 1600: 200, 2800: 350, 2999: 375}
    random_order = dataclasses.replace(odd, sft=dataclasses.replace(small.sft, group_by_length=False))
    assert plateau.length_block_steps(random_order.sft, 3_000) == 1
    assert plateau.snapshot_steps(random_order, 3_000) == {1000: 125, 1800: 225, 1808: 226, 2984: 373, 2992: 374}


def test_the_block_length_is_the_one_transformers_sorts():
    """``length_block_steps`` restates transformers' rule: each block of that many batches comes out
    sorted longest first, and the next block starts over (a transformers upgrade that changes the
    rule fails here)."""
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    from msrl.presets import get_preset

    sft = get_preset("small").sft
    batch = sft.batch_size * sft.grad_accum
    for n_pairs in (320, 3_000):
        lengths = list(range(n_pairs))  # all different, so the order shows the sorting
        order = get_length_grouped_indices(lengths, batch, generator=torch.Generator().manual_seed(0))
        block = plateau.length_block_steps(sft, n_pairs) * batch
        blocks = [order[i : i + block] for i in range(0, n_pairs, block)]
        # the first element of the first block is swapped with the longest overall: compare from the second
        assert all(b[1:] == sorted(b[1:], reverse=True) for b in blocks)
        assert all(a[-1] < b[1] for a, b in zip(blocks, blocks[1:]))  # a new block starts long again
