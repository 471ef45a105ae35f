"""The MLLM judge against a real OpenAI-compatible server: ``transformers serve`` (through
``msrl.training.serve``) hosting the tiny VLM on loopback. The test starts and stops the server."""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from msrl.scoring.judges import embedded, mllm

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(smoke_run, tmp_path_factory):
    """(base url, served model name, log path) of a server hosting the smoke run's SFT model."""
    run_dir, _ = smoke_run
    model = str(run_dir / "02_sft" / "checkpoint")
    port, log = _free_port(), tmp_path_factory.mktemp("serve") / "serve.log"
    command = [sys.executable, "-m", "msrl.training.serve", model, "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the server did not come up within 180 s"
        time.sleep(0.5)
    yield url + "/v1", model, log
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _chart(title: str):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(3, 2), dpi=60)
    ax.bar(["a", "b", "c"], [3, 1, 2])
    ax.set_title(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_the_judge_sends_both_images_and_falls_back_on_a_tiny_models_answer(server):
    url, model, log = server
    judge = mllm.MLLMJudge(url, model, retries=0, timeout_s=120, fallback=embedded.EmbeddedJudge(use_ocr=False))
    answer = judge._request(*(judge_png := [mllm.to_png(_chart("Sales")), mllm.to_png(_chart("Costs"))]))
    assert isinstance(answer, str)  # what the served model really wrote
    score = judge.score(_chart("Sales"), _chart("Costs"))
    assert judge.stats["requests"] == 1 and judge.stats["fallbacks"] == 1
    assert judge.stats["error:JudgeParseError"] == 1  # it answered; the answer held no scores
    assert score.fallback.startswith(f"judge at {url}/chat/completions failed after 1 tries: JudgeParseError")
    assert score.backend == "embedded" and 0 <= score.total <= 100
    assert log.read_text().count('"POST /v1/chat/completions HTTP/1.1" 200') == 2
    assert len(judge_png) == 2


RUNNABLE = "import matplotlib.pyplot as plt\nplt.bar([1, 2], [3, 4])\nplt.show()\n"


def test_grpo_steps_with_the_visual_reward_behind_the_server(server, smoke_run, tmp_path):
    import dataclasses

    from msrl.data.corpus import load_corpus
    from msrl.execution.sandbox import RenderPool
    from msrl.presets import get_preset
    from msrl.scoring.judges import make_judge
    from msrl.training.grpo import rl_prompts, train_grpo
    from msrl.training.sft import train_sft

    url, model, log = server
    run_dir, _ = smoke_run
    preset = get_preset(
        "smoke",
        {
            **{"judge.backend": "openai", "judge.url": url, "judge.model": model, "judge.retries": 0},
            **{"sft.max_steps": 80, "sft.lr": 3e-3, "sft.vision_warmup_steps": 0, "sft.save_steps": 1000},
        },
    )
    corpus = load_corpus(run_dir / "01_data" / "corpus" / "dataset")
    # A policy whose rollouts render (the smoke model's do not): the SFT model taught one short program.
    taught = corpus["sft"].select(range(8)).map(lambda row: {"code": RUNNABLE})
    train_sft(preset, run_dir / "02_sft" / "checkpoint", taught, tmp_path / "sft")
    # near-greedy rollouts: at temperature 1 the taught program (loss 0.16 a token) is rarely sampled whole
    stage = dataclasses.replace(preset.rl_stage2, max_steps=2, temperature=0.1)
    prompts = rl_prompts(corpus["rl"], preset.instruction, stage.n_prompts)
    judge = make_judge(preset.judge)
    before = log.read_text().count("POST /v1/chat/completions")
    with RenderPool(workers=1, dpi=preset.data.dpi, max_px=preset.data.image_px) as pool:
        record = train_grpo(preset, stage, tmp_path / "sft" / "checkpoint", prompts, tmp_path / "grpo", pool, judge)
    assert record["global_step"] == 2 and "visual" in record["rewards"]
    assert all("rewards/visual/mean" in h for h in record["log_history"] if "reward" in h)
    asked = log.read_text().count("POST /v1/chat/completions") - before
    # each rendered rollout was sent to the server (8 rollouts over 2 steps); its answers fell back
    assert asked == judge.stats["requests"] > 0 and judge.stats["fallbacks"] == judge.stats["requests"]
