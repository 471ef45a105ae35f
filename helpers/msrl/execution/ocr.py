"""Text drawn in a chart image, read with Tesseract OCR in-process (``tesserocr``, which bundles
libtesseract; the English model comes from the Debian package ``tesseract-ocr``).

Two readers use it: the embedded judge's text dimension (``words``: lower-case words) and, where the
preset asks for it (``ModelPreset.ocr_prompt``), the policy's prompt (``lines``: the lines as read,
msrl.training.prompts). Tesseract reads the image upscaled 3x (charts rendered at 64 dpi have 6-8 px
text, below what Tesseract reads well). What it read is cached by image hash.
Without ``tesserocr`` or an English model ``available()`` is False and the judge leaves the text
dimension out (recorded in its notes) instead of guessing.

Until 2026-12-07 Tesseract ran as a command (one call per worker and batch, reading a list file).
Each call started the program and loaded its model again, about 130 ms, and wrote every image to
a file. In-process engines are loaded once per process and kept (``_engines``) and read the pixels
from memory (issue 16). The pinned tesserocr 2.8.0 bundles libtesseract 5.3.4, the closest to
Debian 12's command (5.3.0): on 150 corpus charts 140 gave the command's exact words, and word F1
with the strings each chart draws was 0.798 against the command's 0.800 (README, Benchmarks).
"""

from __future__ import annotations

import glob
import hashlib
import os
import queue
import re
import sys
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

_cache: OrderedDict[str, str] = OrderedDict()  # image key -> the text Tesseract read
_CACHE_ITEMS = 4096
# Tesseract takes an image without a resolution (our PGMs, in the command) for 70 dpi. tesserocr's
# ``SetImage`` hands on PIL's 96 dpi instead, which alone cost 6 points of word F1 (0.741 against
# 0.798), so the pixels go in raw, at 70 dpi.
_ASSUMED_DPI = 70
# Loaded engines, each used by one thread at a time (a Tesseract engine is not thread-safe);
# tesserocr releases the GIL while it reads, so two engines read two images at once.
_engines: queue.SimpleQueue = queue.SimpleQueue()
_TESSDATA_PLACES = (
    "/usr/share/tesseract-ocr/*/tessdata",  # Debian, Ubuntu
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
    os.path.join(sys.prefix, "share", "tessdata"),  # conda-forge's tesseract
)


@cache
def tessdata() -> str | None:
    """The folder holding ``eng.traineddata``: ``$TESSDATA_PREFIX`` first, then the usual places."""
    places = [os.environ.get("TESSDATA_PREFIX", "")]
    places += [os.path.join(places[0], "tessdata")] if places[0] else []
    places += [found for pattern in _TESSDATA_PLACES for found in sorted(glob.glob(pattern), reverse=True)]
    return next((p for p in places if p and (Path(p) / "eng.traineddata").is_file()), None)


@cache
def available() -> bool:
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return False
    return tessdata() is not None


def require(purpose: str) -> None:
    """A clear error, naming ``purpose`` and the fix, where Tesseract cannot read (callers that may not
    go on without the text: the OCR prompt; the judge instead leaves its text dimension out)."""
    if not available():
        raise RuntimeError(
            f"{purpose} needs Tesseract OCR, which is not available: run `make ocr` "
            "(Debian: apt-get install tesseract-ocr) or set model.ocr_prompt=False"
        )


def clear_cache() -> None:
    """Forget every image read so far (benchmarks that must read their images cold)."""
    _cache.clear()


def words(image, timeout_s: float = 20.0) -> list[str]:
    """Lower-case words (letters/digits, 2+ characters) drawn in a PIL image."""
    return words_many([image], timeout_s=timeout_s)[0]


def words_many(images, timeout_s: float = 20.0, workers: int = 1) -> list[list[str]]:
    """``words`` of each PIL image; the images not cached are read on ``workers`` threads."""
    return [_parse(text) for text in texts_many(images, timeout_s, workers)]


def lines(text: str) -> list[str]:
    """The non-blank lines of what Tesseract read, as read (case, spaces and punctuation kept)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def texts_many(images, timeout_s: float = 20.0, workers: int = 1) -> list[str]:
    """What Tesseract read in each PIL image; the images not cached are read on ``workers`` threads."""
    keys = [_key(image) for image in images]
    todo = {key: image for key, image in zip(keys, images) if key not in _cache}
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as executor:
            found = executor.map(lambda image: _read(image, timeout_s), todo.values())
            for key, text in zip(todo, found):
                _cache[key] = text
    result = []
    for key in keys:
        _cache.move_to_end(key)
        result.append(_cache[key])
    while len(_cache) > _CACHE_ITEMS:
        _cache.popitem(last=False)
    return result


def remember(images, texts) -> None:
    """Take what this module read in ``images`` earlier, in another process (the corpus's
    ``chart_text``, read from the RGB pixels in 01), so that reading the same RGB pixels again is a
    cache hit: the judge then reads each GRPO reference chart's text once per series, not once per
    stage (issue 16)."""
    for image, text in zip(images, texts):
        if text is not None:
            _cache[_key(image.convert("RGB"))] = text
    while len(_cache) > _CACHE_ITEMS:
        _cache.popitem(last=False)


def _key(image) -> str:
    return hashlib.sha1(image.tobytes()).hexdigest() + f"{image.size}"


def _upscaled(image):
    from PIL import Image

    gray = image.convert("L")
    return gray.resize((gray.width * 3, gray.height * 3), Image.Resampling.LANCZOS)


def _parse(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z0-9]{2,}", text)]


def _read(image, timeout_s: float) -> str:
    engine = _take_engine()
    try:
        gray = _upscaled(image)
        engine.SetImageBytes(gray.tobytes(), gray.width, gray.height, 1, gray.width)
        engine.SetSourceResolution(_ASSUMED_DPI)
        if not engine.Recognize(timeout=int(timeout_s * 1000)):
            raise TimeoutError(f"Tesseract gave up on a {image.width}x{image.height} image after {timeout_s} s")
        return engine.GetUTF8Text()
    finally:
        engine.Clear()
        _engines.put(engine)


def _take_engine():
    """A loaded engine nobody is using; a new one only when all are busy."""
    try:
        return _engines.get_nowait()
    except queue.Empty:
        pass
    if not available():
        raise RuntimeError("Tesseract OCR is not available: install tesserocr and the tesseract-ocr English model")
    import tesserocr

    # psm 11: sparse text in no particular order - chart text is scattered labels, not paragraphs.
    return tesserocr.PyTessBaseAPI(path=tessdata(), lang="eng", psm=tesserocr.PSM.SPARSE_TEXT)
