"""Words drawn in a chart image, read with Tesseract OCR (Debian package ``tesseract-ocr``).

The embedded judge's text dimension. Tesseract runs as a subprocess on the image upscaled 3x
(charts rendered at 64 dpi have 6-8 px text, below what Tesseract reads well). Results are cached
by image hash. Without the ``tesseract`` binary ``available()`` is False and the judge leaves the
text dimension out (recorded in its notes) instead of guessing.

``words_many`` reads many images in one Tesseract call per worker (a list file; pages come back
separated by form feeds): starting Tesseract and loading its English model costs about 130 ms, more
than reading one small chart (issue 16). The words are the same as one call per image; if the
page count ever disagrees, the chunk falls back to one call per image.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_cache: OrderedDict[str, list[str]] = OrderedDict()
_CACHE_ITEMS = 4096
# psm 11: sparse text in no particular order - chart text is scattered labels, not paragraphs.
_COMMAND = ("--psm", "11", "-l", "eng")
_ENV = {"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"}


def available() -> bool:
    return shutil.which("tesseract") is not None


def clear_cache() -> None:
    """Forget every image read so far (benchmarks that must read their images cold)."""
    _cache.clear()


def words(image, timeout_s: float = 20.0) -> list[str]:
    """Lower-case words (letters/digits, 2+ characters) drawn in a PIL image."""
    return words_many([image], timeout_s=timeout_s)[0]


def words_many(images, timeout_s: float = 20.0, workers: int = 1) -> list[list[str]]:
    """``words`` of each PIL image; the images not cached are read in ``workers`` Tesseract calls."""
    keys = [hashlib.sha1(image.tobytes()).hexdigest() + f"{image.size}" for image in images]
    todo = {key: image for key, image in zip(keys, images) if key not in _cache}
    if todo:
        items = list(todo.items())
        chunks = [items[i :: max(1, workers)] for i in range(max(1, workers))]
        with ThreadPoolExecutor(max_workers=len(chunks)) as executor:
            for chunk, found in zip(chunks, executor.map(lambda c: _read_chunk(c, timeout_s), chunks)):
                for (key, _), chunk_words in zip(chunk, found):
                    _cache[key] = chunk_words
    result = []
    for key in keys:
        _cache.move_to_end(key)
        result.append(_cache[key])
    while len(_cache) > _CACHE_ITEMS:
        _cache.popitem(last=False)
    return result


def _upscaled(image):
    from PIL import Image

    gray = image.convert("L")
    return gray.resize((gray.width * 3, gray.height * 3), Image.Resampling.LANCZOS)


def _tesseract(source: str, timeout_s: float) -> str:
    done = subprocess.run(["tesseract", source, "stdout", *_COMMAND], capture_output=True, timeout=timeout_s, env=_ENV)
    if done.returncode != 0:
        raise RuntimeError(f"tesseract failed: {done.stderr.decode(errors='replace')[-300:]}")
    return done.stdout.decode(errors="replace")


def _parse(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z0-9]{2,}", text)]


def _read_chunk(chunk: list[tuple], timeout_s: float) -> list[list[str]]:
    if not chunk:
        return []
    with tempfile.TemporaryDirectory(prefix="msrl-ocr-") as tmp:
        paths = []
        for i, (_, image) in enumerate(chunk):
            # PGM, not PNG: PNG encoding cost ~20 ms per 3x chart (PGM 0.2 ms); Tesseract reads the same pixels.
            path = Path(tmp) / f"{i}.pgm"
            _upscaled(image).save(path)
            paths.append(str(path))
        if len(paths) == 1:
            return [_parse(_tesseract(paths[0], timeout_s))]
        listing = Path(tmp) / "images.txt"
        listing.write_text("\n".join(paths) + "\n")
        pages = _tesseract(str(listing), timeout_s * len(paths)).split("\f")
        if len(pages) == len(paths) + 1 and not pages[-1].strip():
            pages = pages[:-1]
        if len(pages) != len(paths):  # never seen; one call per image keeps the words right
            pages = [_tesseract(path, timeout_s) for path in paths]
        return [_parse(page) for page in pages]
