"""The image-dependence control: a model that ignores its image gains nothing from it, one that reads it does."""

import pytest

from msrl.evaluation import checkpoints, statistics
from msrl.execution.sandbox import RenderPool


@pytest.fixture(scope="module")
def items_and_codes(smoke_corpus):
    _, dataset, _, _ = smoke_corpus
    n = 6
    items = checkpoints.eval_split_items(dataset["eval"], n)
    codes = [dataset["eval"][i]["code"] for i in range(n)]
    return items, codes


def test_deranged_images_move_every_image_and_keep_ids_and_references(items_and_codes):
    items, _ = items_and_codes
    moved = checkpoints.deranged(items)
    assert [m["id"] for m in moved] == [i["id"] for i in items]
    assert [m["reference"] for m in moved] == [i["reference"] for i in items]
    assert all(m["image"] is not i["image"] for m, i in zip(moved, items))
    assert sorted(map(id, (m["image"] for m in moved))) == sorted(map(id, (i["image"] for i in items)))


def test_a_generator_that_ignores_its_image_has_no_image_gain_and_one_that_reads_it_has(items_and_codes):
    items, codes = items_and_codes
    by_image = {id(item["image"]): code for item, code in zip(items, codes)}

    def reads(images):  # writes the reference program of the chart it is shown
        return [by_image[id(image)] for image in images]

    def ignores(images):  # always the same good program, whatever it is shown
        return [codes[0]] * len(images)

    with RenderPool(workers=1) as pool:
        reader = checkpoints.evaluate_with_control("reads", items, reads, pool)
        blind = checkpoints.evaluate_with_control("ignores", items, ignores, pool)
    assert reader.summary["low_level"] == pytest.approx(100.0)
    assert reader.summary["image_gain"] > 30
    assert blind.summary["image_gain"] == pytest.approx(0.0, abs=1e-9)
    assert blind.summary["low_level"] > 0  # it scores, but not because of the image
    gains = statistics.item_values(reader, "image_gain")
    assert len(gains) == len(items) and sum(gains) / len(gains) == pytest.approx(reader.summary["image_gain"])
    row = statistics.seed_table({("reads", 0): {"eval split": reader}})[0]
    assert row["image_gain_mean"] == pytest.approx(reader.summary["image_gain"]) and "[" in row["image_gain"]


def test_the_control_scores_what_generating_from_the_deranged_images_gives(items_and_codes):
    """For a generator whose program depends only on the image shown (greedy decoding), the control
    built from the model's own programs equals generating again from the deranged images."""
    items, codes = items_and_codes
    by_image = {id(item["image"]): code for item, code in zip(items, codes)}

    def reads(images):
        return [by_image[id(image)] for image in images]

    with RenderPool(workers=1) as pool:
        own = checkpoints.score("reads", items, reads([i["image"] for i in items]), pool)
        control = checkpoints.control_evaluation("reads", items, own, pool)
        moved = checkpoints.deranged(items)
        generated_again = checkpoints.score("again", moved, reads([i["image"] for i in moved]), pool)
    assert control.generated == generated_again.generated != own.generated
    assert control.summary["low_level"] == pytest.approx(generated_again.summary["low_level"])
    assert [i["reference"] for i in control.items] == [i["reference"] for i in items]


def test_the_named_type_rate_reads_the_plan_comment():
    items = [{"type": "bar"}, {"type": "pie"}, {"type": "line"}, {"type": "bar"}]
    generated = ["# chart type: bar\nimport matplotlib", "# chart type: bar\n", "", "import matplotlib\n"]
    assert checkpoints.named_type_rate(items, generated) == 25.0
