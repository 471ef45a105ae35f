"""The benchmark-era APIs restored in the sandbox (msrl.execution.compat) and ChartMimic's colour keys."""

import pytest

from msrl.execution.sandbox import RenderPool
from msrl.paths import CHARTMIMIC_DIR
from msrl.scoring import metrics

# Each program uses one API removed since ChartMimic was written, as its reference programs do.
REMOVED_APIS = {
    "cm.get_cmap": "import matplotlib.cm as cm\nimport matplotlib.pyplot as plt\n"
    "colors = cm.get_cmap('jet', 4)(range(4))\nplt.bar(range(4), [1, 2, 3, 4], color=colors)\n",
    "boxplot(labels=)": "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n"
    "ax.boxplot([[1, 2, 3], [2, 3, 4]], labels=['a', 'b'])\n",
    "DataFrame.applymap": "import pandas as pd\nimport matplotlib.pyplot as plt\n"
    "df = pd.DataFrame({'a': ['1%', '2%'], 'b': ['3%', '4%']}).applymap(lambda s: float(s[:-1]))\n"
    "plt.imshow(df.values)\n",
    "annotate at an array": "import numpy as np\nimport matplotlib.pyplot as plt\n"
    "x = np.array([1, 2, 3]); y = np.array([4.0, 5.0, 6.0])\nplt.plot(x, y)\n"
    "plt.annotate('peak', (3, y[np.where(x == 3)]), xytext=(0, 5), textcoords='offset points')\n"
    "plt.text(x[np.where(x == 1)], y[np.where(x == 1)], 'start')\nplt.tight_layout()\n",
    "matplotlib_venn": "from matplotlib_venn import venn2\nimport matplotlib.pyplot as plt\nvenn2(subsets=(3, 2, 1))\n",
}


@pytest.fixture(scope="module")
def pool():
    with RenderPool(workers=2, timeout_s=20) as p:
        yield p


def test_programs_of_the_benchmark_era_run_in_the_sandbox(pool):
    results = dict(zip(REMOVED_APIS, pool.map(list(REMOVED_APIS.values()), extract=False)))
    assert {name: r.status for name, r in results.items()} == dict.fromkeys(REMOVED_APIS, "ok"), {
        name: r.error for name, r in results.items()
    }
    assert results["boxplot(labels=)"].record["calls"] == {"boxplot": 1}  # counted once, by its own name
    assert "peak" in results["annotate at an array"].record["texts"]


def test_horizontal_bars_are_coloured_under_bar_as_in_chartmimic(pool):
    bar, barh = pool.map(
        [
            "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [1, 2], color=['#1f77b4', '#ff7f0e'])\n",
            "import matplotlib.pyplot as plt\nplt.barh(['a', 'b'], [1, 2], color=['#1f77b4', '#ff7f0e'])\n",
        ],
        extract=False,
    )
    scores = metrics.low_level(barh.record, bar.record)
    assert scores["color"] == pytest.approx(1.0)  # same colours, keyed by the function that drew them
    assert scores["type"] == 0.0  # the chart type still tells barh from bar


@pytest.mark.skipif(not CHARTMIMIC_DIR.is_dir(), reason="../shared benchmark absent")
def test_the_references_that_needed_removed_apis_run(pool):
    ids = ["HR_2", "contour_2", "box_22", "heatmap_22", "line_69"]
    results = pool.map([(CHARTMIMIC_DIR / f"{i}.py").read_text() for i in ids], extract=False)
    assert [r.status for r in results] == ["ok"] * len(ids), [r.error for r in results]
