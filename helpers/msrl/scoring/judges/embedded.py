"""The embedded CPU judge: ChartMimic's six high-level dimensions from the two images alone.

Departure from the paper: the paper's visual reward is Qwen2.5-VL-72B judging the pair; a 72B model
cannot run on our 2-core machines, so the default presets use these deterministic image heuristics.
They see only pixels (never the code), like the MLLM judge. Each dimension is in 0..1:

- chart type: histogram intersection of gradient-orientation histograms (bars give horizontal and
  vertical edges, lines and pies oblique ones) blended with the share of "filled" ink (bars, pies,
  heatmaps fill areas; lines and scatters draw strokes).
- layout: the number of long grey lines across and down (axes frames: a 1x2 grid has twice the
  vertical spines of one panel), the overlap (IoU) of the 8x8 cells that carry ink, and the
  aspect-ratio ratio.
- text: F1 of the OCR'd words (Tesseract, msrl.execution.ocr); left out (None) without it.
- data: 1 - total-variation distance between the column and row profiles of coloured ink (data
  marks are coloured; axes and text are grey), i.e. where the bars, lines and points sit.
- style: dominant colours (up to 6) matched one-to-one by ΔE2000 similarity (msrl.scoring.metrics), F1.
- clarity: structural similarity (SSIM, Gaussian window) of the grey images, clipped at 0.

Images are compared on a 256x256 canvas after each is resized (aspect ratio kept separately).

With ``cache_path`` scores are kept on disk (``msrl.scoring.judges.store``), keyed by both images, by
whether OCR ran and by the source of this module and of the OCR module, so an edited heuristic
never reads an old score. The stages of a run share the file: re-scoring a model scored in an
earlier stage costs no OCR.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from msrl.execution import ocr
from msrl.scoring.judges import DIMENSIONS, JudgeScore, failed_score, weighted_total
from msrl.scoring.judges.store import ScoreStore, image_digest, score_key

CANVAS = 256
GRID = 8
PROFILE_BINS = 64
MAX_COLOURS = 6


def _load(image):
    from PIL import Image

    if isinstance(image, (bytes, bytearray)):
        image = Image.open(io.BytesIO(image))
    return image.convert("RGB")


class _View:
    """One image's pixels, masks and per-image features, computed once per image (a reference is
    shared by a GRPO group's rollouts)."""

    def __init__(self, image):
        self.image = _load(image)
        self.aspect = self.image.width / max(1, self.image.height)
        rgb = np.asarray(self.image.resize((CANVAS, CANVAS)), dtype=np.float32) / 255.0
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        self.background = np.median(border, axis=0)
        self.rgb = rgb
        self.gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        self.ink = np.abs(rgb - self.background).max(axis=2) > 0.08
        saturation = rgb.max(axis=2) - rgb.min(axis=2)
        self.colour_ink = self.ink & (saturation > 0.15)
        self.orientation_hist = _orientation_hist(self)
        self.filled_share = _filled_share(self)
        self.colours = dominant_colours(self)


def _orientation_hist(view: _View) -> np.ndarray:
    gy, gx = np.gradient(view.gray)
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    hist, _ = np.histogram(angle, bins=8, range=(0, np.pi), weights=magnitude)
    return hist / hist.sum() if hist.sum() > 0 else hist


def _filled_share(view: _View) -> float:
    from scipy.ndimage import binary_erosion

    if not view.ink.any():
        return 0.0
    return float(binary_erosion(view.ink, iterations=2).sum() / view.ink.sum())


def chart_type_score(a: _View, b: _View) -> float:
    intersection = float(np.minimum(a.orientation_hist, b.orientation_hist).sum())
    fill = 1.0 - abs(a.filled_share - b.filled_share)
    return 0.7 * intersection + 0.3 * fill


def _occupied(view: _View) -> np.ndarray:
    cells = view.ink.reshape(GRID, CANVAS // GRID, GRID, CANVAS // GRID).mean(axis=(1, 3))
    return cells > 0.02


def _long_lines(view: _View, axis: int) -> int:
    """Number of long grey lines (axes spines, frames) across ``axis``: panels show as line pairs."""
    grey = view.ink & ~view.colour_ink
    covered = grey.mean(axis=axis) > 0.25
    return int((covered[1:] & ~covered[:-1]).sum() + covered[0])


def _ratio(x: float, y: float) -> float:
    return 1.0 if x == y else min(x, y) / max(x, y)


def layout_score(a: _View, b: _View) -> float:
    oa, ob = _occupied(a), _occupied(b)
    union = (oa | ob).sum()
    iou = 1.0 if union == 0 else float((oa & ob).sum() / union)
    frames = _ratio(_long_lines(a, 0), _long_lines(b, 0)) * _ratio(_long_lines(a, 1), _long_lines(b, 1))
    return 0.5 * frames + 0.25 * iou + 0.25 * _ratio(a.aspect, b.aspect)


def text_score(a: _View, b: _View) -> float | None:
    from msrl.scoring.metrics import multiset_prf

    if not ocr.available():
        return None
    return multiset_prf(ocr.words(a.image), ocr.words(b.image)).f1


def _profile(mask: np.ndarray, axis: int) -> np.ndarray:
    counts = mask.sum(axis=axis).astype(np.float64)
    counts = counts.reshape(PROFILE_BINS, -1).sum(axis=1)
    return counts / counts.sum() if counts.sum() > 0 else counts


def data_score(a: _View, b: _View) -> float:
    use_colour = a.colour_ink.any() and b.colour_ink.any()
    ma, mb = (a.colour_ink, b.colour_ink) if use_colour else (a.ink, b.ink)
    if not ma.any() and not mb.any():
        return 1.0
    if not ma.any() or not mb.any():
        return 0.0
    scores = [1.0 - 0.5 * float(np.abs(_profile(ma, axis) - _profile(mb, axis)).sum()) for axis in (0, 1)]
    return float(np.mean(scores))


def dominant_colours(view: _View) -> list[str]:
    """Hex colours covering >= 1 % of the coloured ink, most frequent first (at most 6)."""
    pixels = view.rgb[view.colour_ink]
    if len(pixels) == 0:
        return []
    quantised = np.round(pixels * 15).astype(np.int32)  # 16 levels per channel
    codes = quantised[:, 0] * 256 + quantised[:, 1] * 16 + quantised[:, 2]
    values, counts = np.unique(codes, return_counts=True)
    order = np.argsort(-counts)
    keep = [v for v, c in zip(values[order], counts[order]) if c >= 0.01 * len(pixels)][:MAX_COLOURS]
    colours = []
    for code in keep:
        rgb = [(code // 256) % 16, (code // 16) % 16, code % 16]
        colours.append("#" + "".join(f"{round(c * 255 / 15):02x}" for c in rgb))
    return colours


def style_score(a: _View, b: _View) -> float:
    from scipy.optimize import linear_sum_assignment

    from msrl.scoring.metrics import color_similarity, prf

    ca, cb = a.colours, b.colours
    if not ca and not cb:
        return 1.0
    if not ca or not cb:
        return 0.0
    sim = color_similarity(ca, cb)
    rows, cols = linear_sum_assignment(sim, maximize=True)
    return prf(float(sim[rows, cols].sum()), len(ca), len(cb)).f1


def ssim(x: np.ndarray, y: np.ndarray, sigma: float = 1.5) -> float:
    """Mean structural similarity of two grey images in 0..1 (Wang et al. 2004, Gaussian window)."""
    from scipy.ndimage import gaussian_filter

    c1, c2 = 0.01**2, 0.03**2
    mx, my = gaussian_filter(x, sigma), gaussian_filter(y, sigma)
    vx = gaussian_filter(x * x, sigma) - mx * mx
    vy = gaussian_filter(y * y, sigma) - my * my
    cov = gaussian_filter(x * y, sigma) - mx * my
    value = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(value.mean())


def clarity_score(a: _View, b: _View) -> float:
    return max(0.0, ssim(a.gray.astype(np.float64), b.gray.astype(np.float64)))


SCORERS = {
    "chart_type": chart_type_score,
    "layout": layout_score,
    "text": text_score,
    "data": data_score,
    "style": style_score,
    "clarity": clarity_score,
}
assert set(SCORERS) == set(DIMENSIONS)


class EmbeddedJudge:
    """Deterministic image-only judge; ``score_many`` reads the words of all its images first (OCR
    is what takes time), then scores the pairs, both on ``workers`` threads."""

    backend = "embedded"

    def __init__(self, use_ocr: bool = True, workers: int = 2, cache_path=None):
        self.use_ocr = use_ocr
        self.workers = workers
        self.store = ScoreStore(cache_path)
        # What a kept score depends on besides the images: whether OCR runs, and this code.
        sources = (Path(path).read_bytes() for path in (__file__, ocr.__file__))
        self._version = score_key(self.backend, str(use_ocr and ocr.available()), *sources)

    def score(self, reference, candidate) -> JudgeScore:
        return self._score(reference, candidate, _pair_digests(reference, candidate), {})

    def _score(self, reference, candidate, digests: tuple, views: dict) -> JudgeScore:
        """``digests``: the two images' ``image_digest``; ``views``: digest -> ``_View`` built already."""
        if candidate is None:
            return failed_score(self.backend)
        key = score_key(self._version, *digests)
        parts = self.store.get(key)
        if parts is None:
            try:
                a = views.get(digests[0]) or _View(reference)
                b = views.get(digests[1]) or _View(candidate)
            except Exception as exc:  # a corrupt image: a clear score of 0, with the reason (not kept)
                return JudgeScore(
                    0.0,
                    {d: 0.0 for d in DIMENSIONS},
                    self.backend,
                    notes=[f"unreadable image: {type(exc).__name__}: {exc}"],
                )
            parts = {d: None if d == "text" and not self.use_ocr else scorer(a, b) for d, scorer in SCORERS.items()}
            self.store.put(key, parts)
        notes = []
        if parts["text"] is None:
            notes.append(
                "text not judged: Tesseract OCR (tesserocr and its English model) is not installed"
                if self.use_ocr
                else "text not judged: OCR switched off"
            )
        return JudgeScore(weighted_total(parts), parts, self.backend, notes=notes)

    def score_many(self, references, candidates) -> list[JudgeScore]:
        from concurrent.futures import ThreadPoolExecutor
        from itertools import repeat

        references, candidates = list(references), list(candidates)
        digests = [_pair_digests(r, c) for r, c in zip(references, candidates)]
        pending = {}  # digest -> image, of the pairs not scored yet; each image once
        for (reference, candidate), (ref_digest, cand_digest) in zip(zip(references, candidates), digests):
            if candidate is not None and self.store.get(score_key(self._version, ref_digest, cand_digest)) is None:
                pending.setdefault(ref_digest, reference)
                pending.setdefault(cand_digest, candidate)
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as executor:
            # Each image's view once (a GRPO group shares one reference), then all words in one OCR batch.
            built = zip(pending, executor.map(_view_or_none, pending.values()))
            views = {digest: view for digest, view in built if view is not None}
            if self.use_ocr and ocr.available():
                ocr.words_many([view.image for view in views.values()], workers=self.workers)
            return list(executor.map(self._score, references, candidates, digests, repeat(views)))


def _pair_digests(reference, candidate) -> tuple:
    """The two images' ``image_digest`` (None for a missing candidate: ``_score`` fails it)."""
    return image_digest(reference), None if candidate is None else image_digest(candidate)


def _view_or_none(image) -> _View | None:
    """None for an unreadable image: ``EmbeddedJudge._score`` then reports why."""
    try:
        return _View(image)
    except Exception:
        return None
