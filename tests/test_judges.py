"""Judges: the embedded judge sees one changed dimension at a time; the MLLM judge against a loopback
server (good answers, garbage, errors, a slow server, an unreachable one); the visual reward."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from msrl.execution import ocr
from msrl.scoring import judges
from msrl.scoring.judges import embedded, mllm


def draw(kind="bar", title="Sales by region", color="tab:blue", values=(3, 5, 2, 6), grid=(1, 1)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, axes = plt.subplots(*grid, figsize=(6, 4), dpi=64, squeeze=False)
    for ax in axes.flat:
        if kind == "bar":
            ax.bar(["North", "South", "East", "West"], values, color=color)
        elif kind == "line":
            ax.plot(range(len(values)), values, color=color)
        elif kind == "pie":
            ax.pie(values, colors=[color, "tab:orange", "tab:green", "tab:red"])
        ax.set_title(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return Image.open(buffer).convert("RGB")


@pytest.fixture(scope="module")
def reference():
    return draw()


def parts(reference, candidate):
    return embedded.EmbeddedJudge().score(reference, candidate).parts


def test_identical_charts_score_100(reference):
    score = embedded.EmbeddedJudge().score(reference, draw())
    assert score.total == pytest.approx(100.0)
    assert score.fallback is None


def test_a_failed_candidate_scores_zero(reference):
    score = embedded.EmbeddedJudge().score(reference, None)
    assert score.total == 0.0 and set(score.parts) == set(judges.DIMENSIONS)


@pytest.mark.parametrize(
    "change, dimension",
    [
        ({"kind": "line"}, "chart_type"),
        ({"values": (6, 1, 5, 2)}, "data"),
        ({"grid": (1, 2)}, "layout"),
        ({"color": "tab:red"}, "style"),
    ],
)
def test_changing_one_dimension_lowers_that_dimension(reference, change, dimension):
    assert parts(reference, draw())[dimension] == pytest.approx(1.0)
    assert parts(reference, draw(**change))[dimension] <= 0.8


def test_a_colour_change_leaves_the_other_dimensions_alone(reference):
    changed = parts(reference, draw(color="tab:red"))
    assert changed["style"] < 0.7
    assert min(v for d, v in changed.items() if d != "style") > 0.95


@pytest.mark.skipif(not ocr.available(), reason="Tesseract OCR not installed (make test installs it)")
def test_a_different_title_lowers_the_text_dimension_only(reference):
    changed = parts(reference, draw(title="Profit per quarter"))
    assert changed["text"] < 0.8
    assert min(v for d, v in changed.items() if d != "text") > 0.95


def test_without_ocr_text_is_left_out_and_said(reference):
    score = embedded.EmbeddedJudge(use_ocr=False).score(reference, draw(color="tab:red"))
    assert score.parts["text"] is None
    assert any("text not judged" in n for n in score.notes)
    assert score.total == pytest.approx(judges.weighted_total(score.parts))


def test_the_embedded_judge_is_deterministic(reference):
    candidate = draw(kind="line", color="tab:green")
    first = embedded.EmbeddedJudge().score(reference, candidate)
    assert embedded.EmbeddedJudge().score(reference, candidate).parts == first.parts


def test_a_corrupt_candidate_image_scores_zero_with_the_reason(reference):
    score = embedded.EmbeddedJudge().score(reference, b"\x89PNG\r\n\x1a\n not really")
    assert score.total == 0.0 and "unreadable image" in score.notes[0]


@pytest.mark.skipif(not ocr.available(), reason="Tesseract OCR not installed (make test installs it)")
def test_ocr_on_two_threads_reads_what_one_image_at_a_time_reads_with_engines_loaded_once(monkeypatch):
    import queue

    import tesserocr
    from PIL import Image

    images = [draw(title="Sales by region"), Image.new("RGB", (384, 256), "white"), draw(title="Profit per quarter")]
    images.append(draw(kind="line", title="Costs"))
    monkeypatch.setattr(ocr, "_engines", queue.SimpleQueue())
    loads = []
    engine = tesserocr.PyTessBaseAPI
    monkeypatch.setattr(tesserocr, "PyTessBaseAPI", lambda *a, **k: loads.append(a) or engine(*a, **k))
    expected = []
    for image in images:
        monkeypatch.setattr(ocr, "_cache", type(ocr._cache)())
        expected.append(ocr.words(image))
    assert "profit" in expected[2] and expected[1] == []  # a blank page keeps its place
    assert len(loads) == 1  # one engine, loaded once and kept
    monkeypatch.setattr(ocr, "_cache", type(ocr._cache)())
    assert ocr.words_many(images, workers=2) == expected
    assert len(loads) <= 2  # at most one more, for the second thread


@pytest.mark.skipif(not ocr.available(), reason="Tesseract OCR not installed (make test installs it)")
def test_ocr_that_runs_out_of_time_says_so_and_the_engine_still_reads(monkeypatch):
    monkeypatch.setattr(ocr, "_cache", type(ocr._cache)())
    chart = draw(title="Profit per quarter")
    with pytest.raises(TimeoutError, match="gave up"):
        ocr.words(chart, timeout_s=0.001)
    assert "profit" in ocr.words(chart)


def test_score_many_gives_what_score_gives_pair_by_pair(reference):
    candidates = [draw(), draw(kind="line"), None, b"not a png", draw(title="Profit per quarter", color="tab:red")]
    together = embedded.EmbeddedJudge().score_many([reference] * len(candidates), candidates)
    one_by_one = [embedded.EmbeddedJudge().score(reference, c) for c in candidates]
    assert [s.parts for s in together] == [s.parts for s in one_by_one]
    assert [s.total for s in together] == [s.total for s in one_by_one]
    assert "unreadable image" in together[3].notes[0]


# ----------------------------------------------------------------------------------------------
# the MLLM judge against a loopback server

GOOD = {"chart_type": 20, "layout": 10, "text": 10, "data": 10, "style": 20, "clarity": 5}


class _Server:
    """A loopback OpenAI-compatible server whose answers the test scripts."""

    def __init__(self):
        self.answers: list = []  # each: a string answer, an int HTTP status, or ("sleep", seconds)
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                answer = server.answers.pop(0) if server.answers else json.dumps(GOOD)
                if isinstance(answer, tuple):
                    threading.Event().wait(answer[1])
                    answer = json.dumps(GOOD)
                if isinstance(answer, int):
                    self.send_response(answer)
                    self.end_headers()
                    return
                payload = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.httpd.shutdown()


def judge_for(server_url, **kwargs):
    options = {
        "timeout_s": 2.0,
        "retries": 1,
        "concurrency": 4,
        "backoff_s": 0.01,
        "fallback": embedded.EmbeddedJudge(use_ocr=False),
    }
    options.update(kwargs)
    return mllm.MLLMJudge(server_url, "test-model", **options)


def test_mllm_judge_sends_reference_then_candidate_and_weights_the_answer(server, reference):
    candidate = draw(color="tab:red")
    score = judge_for(server.url).score(reference, candidate)
    assert score.backend == "openai" and score.fallback is None
    assert score.total == pytest.approx(75.0)  # 20+10+10+10+20+5
    content = server.requests[0]["messages"][0]["content"]
    images = [part["image_url"]["url"] for part in content if part["type"] == "image_url"]
    assert images[0] == mllm._data_url(judges.to_png(reference))
    assert images[1] == mllm._data_url(judges.to_png(candidate))


def test_embedded_scores_kept_on_disk_are_read_back_without_judging(reference, tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "judge.jsonl"
    candidate = judges.to_png(draw(kind="line"))
    first = embedded.EmbeddedJudge(cache_path=cache).score(reference, candidate)
    off = embedded.EmbeddedJudge(use_ocr=False, cache_path=cache).score(reference, candidate)
    with cache.open("a") as handle:
        handle.write('{"key": "cut short by a kill')  # a torn last line is skipped, not an error
    # a later stage's judge reads the kept scores and judges nothing
    monkeypatch.setattr(embedded, "SCORERS", {d: None for d in judges.DIMENSIONS})
    again = embedded.EmbeddedJudge(cache_path=cache)
    assert again.score(reference, candidate).parts == first.parts and first.total < 100
    off_again = embedded.EmbeddedJudge(use_ocr=False, cache_path=cache).score(reference, candidate)
    assert off_again.parts["text"] is None and off_again.notes == off.notes == ["text not judged: OCR switched off"]
    with pytest.raises(TypeError):  # another pair is not in the file: it is judged (by the stubs here)
        again.score(reference, judges.to_png(draw(kind="pie")))


def test_an_unreadable_candidate_is_not_kept(reference, tmp_path):
    cache = tmp_path / "judge.jsonl"
    score = embedded.EmbeddedJudge(cache_path=cache).score(reference, b"not a png")
    assert score.total == 0.0 and "unreadable image" in score.notes[0]
    assert not cache.exists()


def test_mllm_judge_caches_by_image_hashes_across_instances(server, reference, tmp_path):
    cache = tmp_path / "judge.jsonl"
    first = judge_for(server.url, cache_path=cache)
    scores = first.score_many([reference, reference], [draw(), draw()])  # same pair twice
    second = judge_for(server.url, cache_path=cache)
    again = second.score(reference, draw())
    assert again.total == scores[0].total
    assert second.stats["cache_hits"] == 1 and second.stats["requests"] == 0
    assert len(server.requests) <= 2


def test_mllm_judge_retries_garbage_and_server_errors(server, reference):
    server.answers = ["I think they look similar!", 500]  # two bad answers, then a good one
    judge = judge_for(server.url, retries=2)
    score = judge.score(reference, draw())
    assert score.fallback is None and score.total == pytest.approx(75.0)
    assert judge.stats["requests"] == 3


def test_mllm_judge_falls_back_and_records_why_when_unreachable(reference):
    judge = judge_for("http://127.0.0.1:9/v1")  # nothing listens on the discard port
    score = judge.score(reference, draw())
    assert score.backend == "embedded" and "failed after 2 tries" in score.fallback
    assert judge.stats["fallbacks"] == 1


def test_mllm_judge_times_out_a_slow_server(server, reference):
    server.answers = [("sleep", 1.5), ("sleep", 1.5)]
    judge = judge_for(server.url, timeout_s=0.5, retries=1)
    score = judge.score(reference, draw())
    assert score.fallback and "timed out" in score.fallback.lower()


def test_mllm_judge_without_fallback_raises_a_clear_error(reference):
    judge = judge_for("http://127.0.0.1:9/v1", fallback=None, retries=0)
    with pytest.raises(mllm.JudgeUnavailable, match="127.0.0.1:9"):
        judge.score(reference, draw())


@pytest.mark.parametrize(
    "answer, expected",
    [
        ('{"chart_type": 20, "layout": 10, "text": 20, "data": 20, "style": 20, "clarity": 10}', 100.0),
        (
            'Scores: ```json\n{"Chart Type": 10, "Layout": 5, "Text Content": 10, "Data": 10, "Style": 10, '
            '"Clarity": 5}\n```',
            50.0,
        ),
        ("chart type: 20\nlayout: 10\ntext: 0\ndata: 0\nstyle: 0\nclarity: 10", 40.0),
        ('{"chart_type": 99, "layout": -3, "text": 20, "data": 20, "style": 20, "clarity": 10}', 90.0),
    ],
)
def test_parse_scores_reads_json_and_text_and_clamps(answer, expected):
    assert judges.weighted_total(mllm.parse_scores(answer)) == pytest.approx(expected)


@pytest.mark.parametrize(
    "answer", ["", "The charts are similar.", '{"chart_type": 20, "layout": 10}', '{"chart_type": "high"}']
)
def test_parse_scores_rejects_incomplete_answers(answer):
    with pytest.raises(mllm.JudgeParseError):
        mllm.parse_scores(answer)


def test_make_judge_builds_the_preset_backend(tmp_path):
    from msrl.presets import get_preset

    assert isinstance(judges.make_judge(get_preset("small").judge), embedded.EmbeddedJudge)
    paper = judges.make_judge(get_preset("paper").judge, cache_path=tmp_path / "c.jsonl")
    assert isinstance(paper, mllm.MLLMJudge) and paper.model == "Qwen/Qwen2.5-VL-72B-Instruct"
    with pytest.raises(ValueError, match="unknown judge backend"):
        judges.make_judge(get_preset("small", {"judge.backend": "gpt"}).judge)


def test_visual_reward_scores_completions_against_the_image_column(reference):
    from msrl.scoring import rewards

    good = (
        "import matplotlib.pyplot as plt\nplt.figure(figsize=(6, 4))\n"
        "plt.bar(['North', 'South', 'East', 'West'], [3, 5, 2, 6], color='tab:blue')\n"
        "plt.title('Sales by region')\nplt.show()\n"
    )
    broken = "import matplotlib.pyplot as plt\nplt.bar([1, 2], [3]\n"
    from msrl.execution.sandbox import RenderPool

    with RenderPool(workers=1) as pool:
        context = rewards.RewardContext(rewards.CompletionRenderer(pool), judge=embedded.EmbeddedJudge(use_ocr=False))
        visual = rewards.reward_funcs(["visual"], context)[0]
        scores = visual([good, broken], image=[reference, reference])
    assert scores[1] == 0.0
    assert scores[0] > 0.8
