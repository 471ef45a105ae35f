"""Judge scores kept by key, in memory and, with a path, in a JSON-lines file shared by processes.

Both judges cache through it: the MLLM judge because every request costs server time, the embedded
judge because its OCR (Tesseract) is most of an evaluation's scoring time.
The stages of a run share one file (``outputs/<run>/cache/judge_cache.jsonl``), so a model scored in 04
is not judged again when 05, 06 and 07 re-score its stored programs (measured: README, Results). Keys
name everything a score depends on (the judge, its version, both images), so a stale entry is never
hit. A line cut short by a kill is skipped when the file is read: that entry is judged again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path


def image_digest(image) -> bytes:
    """A digest of PNG bytes, or of a PIL image's mode, size and pixels (no PNG encoding needed)."""
    digest = hashlib.sha256()
    if isinstance(image, (bytes, bytearray)):
        digest.update(bytes(image))
    else:
        digest.update(f"{image.mode}{image.size}".encode())
        digest.update(image.tobytes())
    return digest.digest()


def score_key(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()


class ScoreStore:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.entries: dict[str, dict] = {}
        self._lock = threading.Lock()
        if self.path and self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                    self.entries[entry["key"]] = entry["parts"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a torn last line (a kill mid-write): judged again

    def get(self, key: str) -> dict | None:
        with self._lock:
            parts = self.entries.get(key)
        return dict(parts) if parts is not None else None

    def put(self, key: str, parts: dict) -> None:
        with self._lock:
            self.entries[key] = dict(parts)
            if self.path:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a") as handle:
                    handle.write(json.dumps({"key": key, "parts": parts}) + "\n")
