"""Rewards (TRL signature) on hand-made good and bad completions; normalization."""

import json

import pytest

from msrl.execution.normalize import NormalizationError, normalize_code
from msrl.execution.sandbox import RenderPool
from msrl.scoring import rewards

REFERENCE = """import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(['north', 'south', 'east'], [10.0, 20.0, 30.0], color='#1f77b4')
ax.set_title('Sales by region')
ax.set_xlabel('Region')
ax.set_ylabel('Sales (k$)')
plt.show()
"""
# The same chart, written differently, inside a chat reply.
GOOD = """Here you go:
```python
from matplotlib import pyplot as P
values = [10, 20, 30]
F = P.figure(figsize=(4, 3))
A = F.add_subplot(111)
A.bar(["north", "south", "east"], values, color="#1F77B4")
A.set_title("Sales  by region")
A.set_xlabel("region")
A.set_ylabel("Sales (k$)")
P.savefig("chart.png")
```"""
CLOSE_DATA = REFERENCE.replace("[10.0, 20.0, 30.0]", "[10.4, 19.2, 31.1]")  # within 5 %
WRONG_DATA = REFERENCE.replace("[10.0, 20.0, 30.0]", "[14.0, 26.0, 40.0]")
WRONG_TYPE = REFERENCE.replace("ax.bar(", "ax.plot(")
NO_TITLE = REFERENCE.replace("ax.set_title('Sales by region')\n", "")
BROKEN = REFERENCE.replace("ax.bar(", "ax.bar((")
HOSTILE = "import os\nos.system('rm -rf /')\n"


@pytest.fixture(scope="module")
def renderer():
    with RenderPool(workers=2, timeout_s=5) as pool:
        yield rewards.CompletionRenderer(pool)


@pytest.fixture(scope="module")
def reference_record(renderer):
    result = renderer.pool.render(REFERENCE)
    assert result.ok
    return json.dumps(result.record)


def score(completions, record, renderer, **context):
    columns = {"record": [record] * len(completions)}
    execution, textual = rewards.reward_funcs(["execution", "textual"], rewards.RewardContext(renderer, **context))
    return execution(completions, **columns), textual(completions, **columns)


def test_rewards_are_built_by_name_with_trl_names(renderer):
    assert {"execution", "textual", "visual"} <= set(rewards.REWARD_FACTORIES)
    context = rewards.RewardContext(renderer)
    assert [f.__name__ for f in rewards.reward_funcs(["textual", "execution"], context)] == ["textual", "execution"]
    with pytest.raises(KeyError, match="no reward named"):
        rewards.reward_funcs(["nope"], context)
    with pytest.raises(ValueError, match="needs a judge"):
        rewards.reward_funcs(["visual"], context)


def test_two_contexts_do_not_share_their_renderer_or_weights(renderer, reference_record):
    """No module state: each trainer's rewards read only the context they were built with."""
    with RenderPool(workers=1, timeout_s=5) as other_pool:
        other = rewards.CompletionRenderer(other_pool)
        type_only = {"data": 0, "type": 1, "layout": 0, "title": 0, "labels": 0}
        assert score([WRONG_DATA], reference_record, other, textual_weights=type_only)[1] == [1.0]
        assert score([WRONG_DATA], reference_record, renderer)[1][0] < 1.0
        assert other.executions == 1


def test_good_and_bad_completions_are_ordered(renderer, reference_record):
    names = ["good", "close", "wrong_data", "wrong_type", "no_title", "broken", "hostile"]
    completions = [GOOD, CLOSE_DATA, WRONG_DATA, WRONG_TYPE, NO_TITLE, BROKEN, HOSTILE]
    execution, textual = score(completions, reference_record, renderer)
    got = dict(zip(names, textual))
    assert execution == [1, 1, 1, 1, 1, 0, 0]
    assert got["good"] == pytest.approx(1.0)
    assert got["close"] == pytest.approx(1.0)  # the paper's +-5 % soft match
    assert got["wrong_data"] < got["close"]
    assert got["wrong_type"] < 0.9 and got["no_title"] < 1.0
    assert got["broken"] == 0.0 and got["hostile"] == 0.0


def test_textual_parts_isolate_what_differs(renderer, reference_record):
    ref = json.loads(reference_record)
    wrong_data = renderer.results([WRONG_DATA])[0].record
    parts = rewards.textual_parts(wrong_data, ref)
    assert parts["data"] < 1 and parts["type"] == parts["layout"] == parts["title"] == parts["labels"] == 1


def test_each_completion_is_executed_once_for_all_rewards(renderer, reference_record):
    completions = [REFERENCE.replace("10.0", str(10 + i)) for i in range(4)]
    before = renderer.executions
    score(completions, reference_record, renderer)
    assert renderer.executions - before == 4  # execution and textual shared the four runs


def test_conversational_completions_are_accepted(renderer, reference_record):
    completion = [{"role": "assistant", "content": GOOD}]
    assert score([completion], reference_record, renderer) == ([1.0], [pytest.approx(1.0)])


def test_textual_weights_are_configuration(renderer, reference_record):
    type_only = {"data": 0, "type": 1, "layout": 0, "title": 0, "labels": 0}
    assert score([WRONG_DATA], reference_record, renderer, textual_weights=type_only)[1] == [1.0]
    with pytest.raises(KeyError, match="unknown textual parts"):
        rewards.RewardContext(renderer, textual_weights={"colour": 1})
    from msrl.presets import SMALL

    context = rewards.context_from_preset(SMALL, renderer)
    assert context.textual_weights == SMALL.textual_weights and context.tolerance == SMALL.data_tolerance


def test_a_missing_record_column_is_a_clear_error(renderer):
    textual = rewards.reward_funcs(["textual"], rewards.RewardContext(renderer))[0]
    with pytest.raises(KeyError, match="`record` column"):
        textual([GOOD])


def test_stylistically_different_programs_normalize_to_the_same_code():
    variants = [
        REFERENCE,
        REFERENCE.replace("import matplotlib.pyplot as plt", "from matplotlib import pyplot as p").replace(
            "plt.", "p."
        ),
        "```python\n"
        + REFERENCE.replace("[10.0, 20.0, 30.0]", "data").replace(
            "fig, ax", "data = [10.0, 20.0, 30.0]  # values\nfig, ax"
        )
        + "plt.savefig('a.pdf')\n```",
        REFERENCE.replace("import matplotlib.pyplot as plt", "import matplotlib.pyplot\nplt = matplotlib.pyplot")
        .replace("plt = matplotlib.pyplot", "")
        .replace("plt.", "matplotlib.pyplot."),
    ]
    normalized = {normalize_code(v) for v in variants}
    assert len(normalized) == 1, normalized
    (text,) = normalized
    assert "show" not in text and "savefig" not in text and text.startswith("import matplotlib.pyplot as plt")


def test_normalization_keeps_names_that_change():
    code = "import matplotlib.pyplot as plt\nx = [1, 2]\nx.append(3)\nplt.plot(x)\n"
    assert "x.append(3)" in normalize_code(code) and "x = [1, 2]" in normalize_code(code)
    with pytest.raises(NormalizationError, match="not valid Python"):
        normalize_code("plt.plot([1, 2)")
