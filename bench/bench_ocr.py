"""The judge's OCR: Tesseract in-process (``msrl.execution.ocr``) against the Tesseract command
the judge ran until 2026-12-07, on the same charts, side by side.

    python bench/bench_ocr.py [--run-dir outputs/small] [--charts 150] [--rounds 2]

Both read each chart's grey image upscaled 3x, on two workers, cold (no cache). The command is
called as the judge called it: one call per worker and batch, images as PGM files named in a list
file. Prints seconds per chart, and each way's word F1 with the strings the chart draws (its
record's texts and tick labels), which is what the judge's text dimension is meant to compare.
Needs the Debian ``tesseract-ocr`` command for the comparison (``make`` installs it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from shared_setup import add_run_dir_argument, cpu_line


def command_words(images, workers: int = 2) -> list[list[str]]:
    """The judge's reader until 2026-12-07: one ``tesseract`` call per worker, a list file of PGMs."""
    from concurrent.futures import ThreadPoolExecutor

    from msrl.execution.ocr import _parse, _upscaled

    def read(chunk):
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i, image in enumerate(chunk):
                paths.append(f"{tmp}/{i}.pgm")
                _upscaled(image).save(paths[-1])
            Path(tmp, "list.txt").write_text("\n".join(paths) + "\n")
            env = {"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"}
            command = ["tesseract", f"{tmp}/list.txt", "stdout", "--psm", "11", "-l", "eng"]
            out = subprocess.run(command, capture_output=True, check=True, env=env).stdout.decode()
            return [_parse(page) for page in out.split("\f")[: len(chunk)]]

    chunks = [images[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as executor:
        found = list(executor.map(read, chunks))
    result = [None] * len(images)
    for i, chunk_words in enumerate(found):
        result[i::workers] = chunk_words
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_dir_argument(parser)
    parser.add_argument("--charts", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import tesserocr

    from msrl.data.corpus import DATASET_DIR, load_corpus
    from msrl.execution import ocr
    from msrl.paths import CORPUS_DIR, stage_dir
    from msrl.scoring.metrics import multiset_prf

    if shutil.which("tesseract") is None or not ocr.available():
        raise SystemExit("needs the tesseract command and tesserocr with an English model (make installs both)")
    rows = load_corpus(stage_dir(args.run_dir, "01") / CORPUS_DIR / DATASET_DIR)["rl"]
    rows = rows.select(range(min(args.charts, len(rows))))
    images = [row["image"].convert("RGB") for row in rows]
    drawn = []
    for row in rows:
        record = json.loads(row["record"])
        drawn.append(ocr._parse(" ".join(map(str, [*record["texts"], *(record.get("tick_labels") or [])]))))
    print(f"CPU: {cpu_line()}; {len(images)} `rl` charts of {images[0].size[0]}x{images[0].size[1]} px, 2 workers")
    print(f"command: {subprocess.run(['tesseract', '--version'], capture_output=True, text=True).stdout.split()[1]}")
    print(f"in-process: tesserocr, libtesseract {tesserocr.tesseract_version().split()[1]}")
    ways = {
        "command, a call per worker": lambda: command_words(images),
        "in-process, an engine per worker": lambda: (ocr.clear_cache(), ocr.words_many(images, workers=2))[1],
    }
    seconds = {name: [] for name in ways}
    words = {}
    for _ in range(args.rounds):  # alternating, so that a busy moment hits both ways
        for name, read in ways.items():
            start = time.perf_counter()
            words[name] = read()
            seconds[name].append(time.perf_counter() - start)
    print("| way | ms per chart (best of rounds) | word F1 with the drawn strings | words per chart |")
    print("|---|---|---|---|")
    for name in ways:
        quality = sum(multiset_prf(w, d).f1 for w, d in zip(words[name], drawn)) / len(images)
        per_chart = 1000 * min(seconds[name]) / len(images)
        print(f"| {name} | {per_chart:.0f} | {quality:.3f} | {sum(map(len, words[name])) / len(images):.1f} |")
    same = sum(a == b for a, b in zip(*words.values()))
    base, new = (min(s) for s in seconds.values())
    print(f"in-process / command time: {new / base:.2f}; the same words on {same} of {len(images)} charts")


if __name__ == "__main__":
    main()
