"""MLLM judge over an OpenAI-compatible chat API (``vllm serve``, or a hosted multimodal model).

The request shows the reference image first, then the rendered candidate, and asks for the six
ChartMimic dimensions as JSON points (chart type /20, layout /10, text /20, data /20, style /20,
clarity /10). The paper's evaluator is Qwen2.5-VL-72B-Instruct; its prompt is not published, so the
prompt below follows ChartMimic's GPT-4o high-level prompt in substance.

Robustness: answers are parsed from JSON or from "name: points" text (``parse_scores``), points are
clamped to their range; each pair gets ``retries`` more tries after a timeout, a connection error,
an HTTP error or an unparseable answer; ``concurrency`` requests run at once; answers are cached by
(model, prompt version, image hashes) in memory and, with ``cache_path``, in a JSON-lines file
(``msrl.scoring.judges.store``).
When every try fails, the fallback judge (the embedded one by default) answers and the score
records why (``JudgeScore.fallback``; counts in ``stats``); without a fallback ``JudgeUnavailable``
is raised with the server's last error.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from msrl.scoring.judges import DIMENSIONS, JudgeScore, failed_score, to_png, weighted_total
from msrl.scoring.judges.store import ScoreStore, image_digest, score_key

PROMPT_VERSION = "msrl-judge-v1"
PROMPT = """You are an expert in data visualization. The first image is the reference chart; the \
second image is a chart drawn by a program that tried to reproduce it. Compare the second chart with \
the first and give points for each dimension:
- chart_type (0-20): are the chart types the same (bar, line, pie, scatter, ...)?
- layout (0-10): is the arrangement of subplots and chart elements the same?
- text (0-20): are titles, axis labels, tick labels, legends and annotations the same?
- data (0-20): do the plotted values and trends match?
- style (0-20): do colours, markers, line styles and fills match?
- clarity (0-10): is the chart as clear and readable as the reference, without overlaps?
Answer with one JSON object and nothing else, for example:
{"chart_type": 20, "layout": 10, "text": 15, "data": 12, "style": 18, "clarity": 9}"""

_ALIASES = {
    "charttype": "chart_type",
    "type": "chart_type",
    "charttypes": "chart_type",
    "layout": "layout",
    "text": "text",
    "textcontent": "text",
    "data": "data",
    "style": "style",
    "clarity": "clarity",
}


class JudgeParseError(ValueError):
    """The judge's answer does not contain the six dimension scores."""


class JudgeUnavailable(RuntimeError):
    """The judge server could not be used and no fallback judge was given."""


def _dimension(name: str) -> str | None:
    return _ALIASES.get(re.sub(r"[^a-z]", "", name.lower()))


def parse_scores(text: str) -> dict[str, float]:
    """Dimension -> 0..1 from an answer (JSON object, or "name: points" lines); JudgeParseError else."""
    found: dict[str, float] = {}
    for match in re.finditer(r"\{[^{}]*\}", text or ""):
        try:
            obj = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        for key, value in obj.items():
            dim = _dimension(str(key))
            if dim and isinstance(value, (int, float)) and not isinstance(value, bool):
                found.setdefault(dim, float(value))
    if len(found) < len(DIMENSIONS):
        pattern = (
            r"(chart[\s_-]*types?|layout|text(?:[\s_-]*content)?|data|style|clarity)\W{0,5}?[:=]\s*(\d+(?:\.\d+)?)"
        )
        for name, value in re.findall(pattern, text or "", flags=re.IGNORECASE):
            dim = _dimension(name)
            if dim:
                found.setdefault(dim, float(value))
    missing = [d for d in DIMENSIONS if d not in found]
    if missing:
        raise JudgeParseError(f"answer lacks {', '.join(missing)}: {text[:200]!r}")
    return {d: min(max(found[d], 0.0), DIMENSIONS[d]) / DIMENSIONS[d] for d in DIMENSIONS}


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


class MLLMJudge:
    backend = "openai"

    def __init__(
        self,
        url: str,
        model: str,
        timeout_s: float = 60.0,
        retries: int = 2,
        concurrency: int = 8,
        cache_path: str | Path | None = None,
        fallback=None,
        api_key: str | None = None,
        backoff_s: float = 0.5,
    ):
        if not url or not model:
            raise ValueError("the MLLM judge needs a server url (…/v1) and a model name")
        self.url = url.rstrip("/") + "/chat/completions"
        self.model, self.timeout_s, self.retries = model, timeout_s, retries
        self.concurrency, self.fallback, self.backoff_s = concurrency, fallback, backoff_s
        self.api_key = api_key
        self.store = ScoreStore(cache_path)
        self.stats: Counter = Counter()
        # Loopback and cluster-internal servers: never route judge traffic through a proxy.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _key(self, ref_png: bytes, cand_png: bytes) -> str:
        return score_key(self.model, PROMPT_VERSION, image_digest(ref_png), image_digest(cand_png))

    def _request(self, ref_png: bytes, cand_png: bytes) -> str:
        body = {
            "model": self.model,
            "temperature": 0.0,
            "max_tokens": 200,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": _data_url(ref_png)}},
                        {"type": "image_url", "image_url": {"url": _data_url(cand_png)}},
                        {"type": "text", "text": PROMPT},
                    ],
                }
            ],
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, json.dumps(body).encode(), headers, method="POST")
        with self._opener.open(request, timeout=self.timeout_s) as response:
            answer = json.loads(response.read())
        return answer["choices"][0]["message"]["content"]

    def _ask(self, ref_png: bytes, cand_png: bytes) -> dict[str, float]:
        last = None
        for attempt in range(self.retries + 1):
            try:
                self.stats["requests"] += 1
                return parse_scores(self._request(ref_png, cand_png))
            except (
                urllib.error.URLError,
                TimeoutError,
                ConnectionError,
                OSError,
                JudgeParseError,
                KeyError,
                IndexError,
                TypeError,
                ValueError,
            ) as exc:
                last = exc
                self.stats[f"error:{type(exc).__name__}"] += 1
                if attempt < self.retries:
                    time.sleep(self.backoff_s * (2**attempt))
        raise JudgeUnavailable(
            f"judge at {self.url} failed after {self.retries + 1} tries: {type(last).__name__}: {last}"
        )

    def score(self, reference, candidate) -> JudgeScore:
        if candidate is None:
            return failed_score(self.backend)
        ref_png, cand_png = to_png(reference), to_png(candidate)
        key = self._key(ref_png, cand_png)
        cached = self.store.get(key)
        if cached is not None:
            self.stats["cache_hits"] += 1
            return JudgeScore(weighted_total(cached), dict(cached), self.backend)
        try:
            parts = self._ask(ref_png, cand_png)
        except JudgeUnavailable as exc:
            if self.fallback is None:
                raise
            self.stats["fallbacks"] += 1
            score = self.fallback.score(reference, candidate)
            score.fallback = str(exc)
            return score
        self.store.put(key, parts)
        return JudgeScore(weighted_total(parts), parts, self.backend)

    def score_many(self, references, candidates) -> list[JudgeScore]:
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as executor:
            return list(executor.map(self.score, references, candidates))
