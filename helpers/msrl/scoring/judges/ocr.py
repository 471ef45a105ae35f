"""Words drawn in a chart image, read with Tesseract OCR (Debian package ``tesseract-ocr``).

The embedded judge's text dimension. Tesseract runs as a subprocess on the image upscaled 3x
(charts rendered at 64 dpi have 6-8 px text, below what Tesseract reads well). Results are cached
by image hash. Without the ``tesseract`` binary ``available()`` is False and the judge leaves the
text dimension out (recorded in its notes) instead of guessing.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from collections import OrderedDict

_cache: OrderedDict[str, list[str]] = OrderedDict()
_CACHE_ITEMS = 4096


def available() -> bool:
    return shutil.which("tesseract") is not None


def words(image, timeout_s: float = 20.0) -> list[str]:
    """Lower-case words (letters/digits, 2+ characters) drawn in a PIL image."""
    from PIL import Image

    key = hashlib.sha1(image.tobytes()).hexdigest() + f"{image.size}"
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    gray = image.convert("L")
    big = gray.resize((gray.width * 3, gray.height * 3), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    # psm 11: sparse text in no particular order - chart text is scattered labels, not paragraphs.
    done = subprocess.run(
        ["tesseract", "stdin", "stdout", "--psm", "11", "-l", "eng"],
        input=buffer.getvalue(),
        capture_output=True,
        timeout=timeout_s,
        env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"tesseract failed: {done.stderr.decode(errors='replace')[-300:]}")
    found = [w.lower() for w in re.findall(r"[A-Za-z0-9]{2,}", done.stdout.decode(errors="replace"))]
    _cache[key] = found
    while len(_cache) > _CACHE_ITEMS:
        _cache.popitem(last=False)
    return found
