"""Build the chart-code corpus: tables -> specs -> code -> sandboxed render -> filters -> shards ->
a Hugging Face ``DatasetDict`` (splits ``sft``, ``rl``, ``eval``).

Each split is written as numbered shards (parquet, written atomically). Shard ``k`` of a split is
generated from its own seeded random stream, so a build interrupted mid-way resumes by skipping the
shards on disk and regenerating the one in progress: no duplicates, nothing lost. Chart types are
drawn round-robin (and, for the types seaborn draws, the library alternates), so every split holds
every type and both libraries as soon as it has a few dozen charts.

Filters, in order. Before rendering (they need only the code): the normalized code duplicates an
accepted or in-flight program; the code is longer than the preset's token budget (measured with the
code tokenizer, trained first on a sample of programs). After rendering in the sandbox: the program
fails; the image is (nearly) blank; the image's 256-bit difference hash is within 10 bits of an
accepted image (any split, so no near-copy of an eval chart is trained on). Candidates of a chart
type whose share of the shard is already accepted or in flight are not generated, so almost every
render is kept. Renders run eight programs to a sandbox child (``PROGRAMS_PER_CHILD``): they are our
emitters' own code, and the child resets chart state between them (``sandbox.child``).

For the paper scale (millions of pairs): run one build per machine with disjoint ``--shard-range``
style partitions of the shard numbers and a pool of one worker per core; shards merge by listing.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msrl.data.emit import emit
from msrl.data.specs import CHART_TYPES, SEABORN_TYPES, Limits, SpecError, sample_spec
from msrl.data.tables import SPLITS, Table, load_tables
from msrl.execution import ocr
from msrl.execution.normalize import normalize_or_keep
from msrl.execution.sandbox import RenderPool
from msrl.presets import Preset

SHARDS_DIR = "shards"
DATASET_DIR = "dataset"
TOKENIZER_SAMPLE = 1500  # programs the tokenizer is trained on (before any rendering)
NEAR_DUPLICATE_BITS = 10  # of 256 (the image's difference hash)
MAX_CODE_MISSES = 2000  # candidates in a row failing the code-only filters: the tables are exhausted
MIN_INK = 0.01  # share of non-background pixels below which an image is "blank"
# Corpus programs are our emitters' own code, so the sandbox may run several in one child (the
# fork and its copy-on-write faults are paid once per series): on 400 corpus programs, 8 per child
# drew 33.8 charts/s against 23.3 one per child (Intel Xeon, 2 workers), with the same PNGs, records
# and image statistics for 400 of 400 (a rerun: 399; the other is a seaborn line whose bootstrapped band
# is random, and it differed as much between two runs at one per child).
PROGRAMS_PER_CHILD = 8
# Series per worker in one rendered batch: 4 gave 27.3 pairs/s in the build, 2 26.4 and 1 16.6 (a
# batch waits for its slowest series, and the next batch is generated while this one renders).
BATCH_SERIES = 4
FILTERS = ("exec_failed", "blank", "duplicate_code", "near_duplicate_image", "too_long", "no_spec")


@dataclass
class BuildReport:
    n_pairs: dict = field(default_factory=dict)
    filter_counts: Counter = field(default_factory=Counter)
    attempted: int = 0  # candidates that reached the filters
    rendered: int = 0  # of them, the ones sent to the sandbox (the code-only filters come first)
    seconds: float = 0.0
    resumed_shards: int = 0
    table_errors: list = field(default_factory=list)
    n_tables: dict = field(default_factory=dict)

    @property
    def charts_per_s(self) -> float:
        built = sum(self.n_pairs.values())
        return built / self.seconds if self.seconds else 0.0


class _Generator:
    """Candidates for one shard: chart types round-robin, each at most ``cap`` times per shard,
    the library alternating over the charts seaborn can draw."""

    def __init__(self, tables: list[Table], seed: str, target: int, library_offset: int, limits: Limits = Limits()):  # noqa: B008 (frozen)
        self.tables = tables
        self.limits = limits
        self.rng = random.Random(seed)
        self.type_cycle: list[str] = []
        self.feasible = list(CHART_TYPES)
        self.accepted = Counter()
        self.pending = Counter()  # candidates of each type being rendered now
        self.rejected = Counter()
        self.target = target
        self.seaborn_turn = library_offset

    @property
    def cap(self) -> int:
        return math.ceil(self.target / max(1, len(self.feasible)))

    def open_types(self) -> list[str]:
        return [t for t in self.feasible if self.accepted[t] + self.pending[t] < self.cap]

    def next_type(self) -> str:
        if not self.type_cycle:
            order = self.open_types() or list(self.feasible)
            self.rng.shuffle(order)
            self.type_cycle = order
        return self.type_cycle.pop()

    def reject(self, chart_type: str) -> None:
        self.rejected[chart_type] += 1
        if self.rejected[chart_type] > 25 and chart_type in self.feasible and len(self.feasible) > 1:
            self.feasible.remove(chart_type)  # this split's tables cannot feed it: share its quota

    def accepts(self, chart_type: str) -> bool:
        return self.accepted[chart_type] < self.cap

    def candidate(self, chart_type: str):
        """(spec, code) of ``chart_type``, or None when no table can feed it after 40 tries."""
        library = "matplotlib"
        if chart_type in SEABORN_TYPES:
            library = "seaborn" if self.seaborn_turn % 2 else "matplotlib"
        for _ in range(40):
            table = self.rng.choice(self.tables)
            try:
                spec = sample_spec(table, chart_type, self.rng, library=library, limits=self.limits)
            except SpecError:
                continue
            if chart_type in SEABORN_TYPES:
                self.seaborn_turn += 1
            return spec, emit(spec)
        return None


def _hash_bytes(hex_hashes) -> np.ndarray:
    return np.array([np.frombuffer(bytes.fromhex(h), dtype=np.uint8) for h in hex_hashes], dtype=np.uint8).reshape(
        -1, 32
    )


def _hamming_hits(seen: np.ndarray, value: np.ndarray) -> bool:
    """Whether any accepted hash (rows of ``seen``) is within NEAR_DUPLICATE_BITS of ``value``."""
    if seen.size == 0:
        return False
    counts = np.unpackbits(np.bitwise_xor(seen, value), axis=1).sum(axis=1)
    return bool((counts <= NEAR_DUPLICATE_BITS).any())


class CorpusBuilder:
    def __init__(self, preset: Preset, out_dir: str | Path, pool: RenderPool | None = None, progress=None):
        self.preset, self.data = preset, preset.data
        self.out = Path(out_dir)
        self.shards = self.out / SHARDS_DIR
        self.shards.mkdir(parents=True, exist_ok=True)
        self._own_pool = pool is None
        self.pool = pool or RenderPool.for_data(self.data)
        self.progress = progress or (lambda message: None)
        self.report = BuildReport()
        self.code_hashes: set[str] = set()
        self.dhashes = np.zeros((0, 32), dtype=np.uint8)
        self.tokenizer = None
        self.limits = Limits(
            max_points=self.data.max_points,
            max_samples=self.data.max_samples,
            data_styles=self.data.data_styles,
            plan_comment=self.data.plan_comment,
        )

    # -- public -------------------------------------------------------------------------------

    def build(self, tokenizer_dir: str | Path) -> BuildReport:
        start = time.perf_counter()
        errors: list[str] = []
        tables = load_tables(
            self.data.tables,
            self.data.user_tables,
            seed=self.data.seed,
            n_synthetic=self.data.n_synthetic_tables,
            errors=errors,
            max_per_source=self.data.max_tables_per_source,
        )
        self.report.table_errors = errors
        self.report.n_tables = {s: len(t) for s, t in tables.items()}
        for split in SPLITS:
            if not tables[split]:
                raise RuntimeError(f"no tables for split {split!r}: add table sources")
        self.tokenizer = self._tokenizer(tables["sft"], Path(tokenizer_dir))
        build_start = time.perf_counter()
        try:
            for split in ("eval", "rl", "sft"):  # small splits first: usable early
                self._build_split(split, tables[split])
        finally:
            if self._own_pool:
                self.pool.close()
        self.report.seconds = time.perf_counter() - build_start
        self.report.n_pairs = {s: int(self._count(s)) for s in SPLITS}
        self.progress(f"built {sum(self.report.n_pairs.values())} pairs in {time.perf_counter() - start:.0f} s")
        return self.report

    def save_dataset(self) -> Path:
        """Assemble the shards into a DatasetDict on disk (``out/dataset``)."""
        from datasets import Dataset, DatasetDict, Features, Image, Value

        features = Features(
            {
                "image": Image(),
                "code": Value("string"),
                "chart_type": Value("string"),
                "library": Value("string"),
                "table_id": Value("string"),
                "source": Value("string"),
                "spec": Value("string"),
                "record": Value("string"),
                "n_tokens": Value("int32"),
                **({"chart_text": Value("string")} if self.preset.model.ocr_prompt else {}),
            }
        )
        splits = {}
        for split in SPLITS:
            if self.preset.model.ocr_prompt:
                for path in self._shard_paths(split):
                    self._add_chart_text(path)
            frame = pd.concat([pd.read_parquet(p) for p in self._shard_paths(split)], ignore_index=True)
            records = frame.to_dict("list")
            records["image"] = [{"bytes": b, "path": None} for b in records.pop("png")]
            for key in ("code_hash", "dhash"):
                records.pop(key)
            splits[split] = Dataset.from_dict(records, features=features)
        target = self.out / DATASET_DIR
        DatasetDict(splits).save_to_disk(str(target))
        return target

    # -- steps --------------------------------------------------------------------------------

    def _add_chart_text(self, path: Path) -> None:
        """Give a shard the text Tesseract reads in each image (``chart_text``, for the policy's
        prompt: ModelPreset.ocr_prompt), once: the shard is rewritten atomically with the column."""
        from PIL import Image

        frame = pd.read_parquet(path)
        if "chart_text" in frame.columns:
            return
        ocr.require("model.ocr_prompt (reading the corpus's charts)")
        images = [Image.open(io.BytesIO(png)).convert("RGB") for png in frame["png"]]
        frame["chart_text"] = ocr.texts_many(images, workers=self.data.workers)
        tmp = path.with_suffix(".tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(path)
        self.progress(f"{path.stem}: read the text of {len(frame)} charts")

    def _tokenizer(self, tables: list[Table], directory: Path):
        from transformers import AutoTokenizer

        from msrl.data.tokenizer import train_code_tokenizer

        if (directory / "tokenizer.json").exists():
            return AutoTokenizer.from_pretrained(str(directory))
        generator = _Generator(tables, f"{self.data.seed}-tokenizer", TOKENIZER_SAMPLE, 0, self.limits)
        texts = []
        while len(texts) < TOKENIZER_SAMPLE:
            made = generator.candidate(generator.next_type())
            if made:
                texts.append(made[1])
        tokenizer = train_code_tokenizer(texts, vocab_size=self.preset.model.vocab_size)
        tokenizer.save_pretrained(str(directory))
        return tokenizer

    def _quota(self, split: str) -> int:
        return {"sft": self.data.n_sft, "rl": self.data.n_rl, "eval": self.data.n_eval}[split]

    def _shard_paths(self, split: str) -> list[Path]:
        return sorted(self.shards.glob(f"{split}-*.parquet"))

    def _count(self, split: str) -> int:
        return sum(pd.read_parquet(p, columns=["code_hash"]).shape[0] for p in self._shard_paths(split))

    def _remember(self, code_hashes, dhashes) -> None:
        """Accepted programs (code hashes, hex image hashes) that later candidates must not repeat."""
        self.code_hashes.update(code_hashes)
        self.dhashes = np.concatenate([self.dhashes, _hash_bytes(dhashes)])

    def _build_split(self, split: str, tables: list[Table]) -> None:
        quota, size = self._quota(split), self.data.shard_size
        for k in range(math.ceil(quota / size)):
            path = self.shards / f"{split}-{k:05d}.parquet"
            target = min(size, quota - k * size)
            if path.exists():
                on_disk = pd.read_parquet(path, columns=["code_hash", "dhash"])
                self._remember(on_disk["code_hash"], on_disk["dhash"])
                self.report.resumed_shards += 1
                continue
            rows = self._fill_shard(split, k, tables, target)
            frame = pd.DataFrame(rows)
            tmp = path.with_suffix(".tmp")
            frame.to_parquet(tmp, index=False)
            tmp.replace(path)  # atomic: a shard is either complete on disk or absent
            self.progress(f"{split}: shard {k + 1}/{math.ceil(quota / size)} ({len(rows)} pairs)")

    def _fill_shard(self, split: str, k: int, tables: list[Table], target: int) -> list[dict]:
        generator = _Generator(tables, f"{self.data.seed}-{split}-{k}", target, library_offset=k, limits=self.limits)
        rows: list[dict] = []
        retry_types: list[str] = []
        in_flight_hashes: set[str] = set()
        batch_size = BATCH_SERIES * PROGRAMS_PER_CHILD * self.pool.size
        no_progress = 0

        def make_batch(n: int) -> list[tuple]:
            """Up to ``n`` candidates that passed the code-only filters (nothing is rendered twice
            or rendered only to be dropped for its length)."""
            batch, misses = [], 0
            while len(batch) < n:
                chart_type = retry_types.pop(0) if retry_types else generator.next_type()
                open_types = generator.open_types()
                if open_types and chart_type not in open_types:
                    continue  # its share is full with what is accepted and in flight
                made = generator.candidate(chart_type)
                if made is None:
                    self.report.filter_counts["no_spec"] += 1
                    generator.reject(chart_type)
                    continue
                spec, code = made
                self.report.attempted += 1
                reason, code_hash, n_tokens = self._code_reject_reason(code, in_flight_hashes)
                if reason:
                    self.report.filter_counts[reason] += 1
                    generator.reject(chart_type)
                    if chart_type in generator.feasible:
                        retry_types.append(chart_type)
                    misses += 1
                    if misses >= MAX_CODE_MISSES:
                        raise RuntimeError(
                            f"{split} shard {k}: {misses} candidates in a row were duplicates or too long; "
                            f"filters so far: {dict(self.report.filter_counts)}"
                        )
                    continue
                misses = 0
                in_flight_hashes.add(code_hash)
                generator.pending[chart_type] += 1
                batch.append((chart_type, spec, code, code_hash, n_tokens))
            return batch

        def render(codes: list[str], box: dict) -> None:
            box["results"] = self.pool.map(codes, extract=False, per_child=PROGRAMS_PER_CHILD)

        batch = make_batch(min(batch_size, target))
        while len(rows) < target:
            # render this batch in a thread while the next one is generated here; the next one
            # holds only what is still missing if everything in flight is accepted
            box: dict = {}
            thread = threading.Thread(target=render, args=([b[2] for b in batch], box))
            thread.start()
            next_batch = make_batch(min(batch_size, max(0, target - len(rows) - len(batch))))
            thread.join()
            self.report.rendered += len(batch)
            accepted_before = len(rows)
            for (chart_type, spec, code, code_hash, n_tokens), result in zip(batch, box["results"]):
                generator.pending[chart_type] -= 1
                in_flight_hashes.discard(code_hash)
                if len(rows) >= target or not generator.accepts(chart_type):
                    continue  # the shard, or this type's share of it, is full already
                reason = self._image_reject_reason(result)
                if reason:
                    self.report.filter_counts[reason] += 1
                    generator.reject(chart_type)
                    if chart_type in generator.feasible:
                        retry_types.append(chart_type)  # keep the type balance: try this type again
                    continue
                generator.accepted[chart_type] += 1
                self._remember([code_hash], [result.extra["image_stats"]["dhash"]])
                rows.append(self._row(spec, code, result, code_hash, n_tokens))
            no_progress = no_progress + 1 if len(rows) == accepted_before else 0
            if no_progress >= 20:
                raise RuntimeError(
                    f"{split} shard {k}: 20 batches without an accepted chart; "
                    f"filters so far: {dict(self.report.filter_counts)}"
                )
            batch = next_batch or make_batch(min(batch_size, target - len(rows)))
        return rows

    def _code_reject_reason(self, code: str, in_flight: set[str]) -> tuple[str | None, str, int]:
        """The filters that need only the code, applied before rendering: (reason, hash, tokens)."""
        code_hash = hashlib.sha1(normalize_or_keep(code).encode()).hexdigest()
        if code_hash in self.code_hashes or code_hash in in_flight:
            return "duplicate_code", code_hash, 0
        n_tokens = len(self.tokenizer(code)["input_ids"])
        if n_tokens > self.data.max_code_tokens:
            return "too_long", code_hash, n_tokens
        return None, code_hash, n_tokens

    def _image_reject_reason(self, result) -> str | None:
        if not result.ok:
            return "exec_failed"
        stats = result.extra.get("image_stats") or {}
        if stats.get("ink", 0.0) < MIN_INK:
            return "blank"
        if _hamming_hits(self.dhashes, _hash_bytes([stats["dhash"]])[0]):
            return "near_duplicate_image"
        return None

    @staticmethod
    def _row(spec, code: str, result, code_hash: str, n_tokens: int) -> dict:
        return {
            "png": result.png,
            "code": code,
            "chart_type": spec.chart_type,
            "library": spec.library,
            "table_id": spec.table_id,
            "source": spec.table_id.split("/")[0],
            "spec": spec.to_json(),
            "record": json.dumps(result.record),
            "n_tokens": n_tokens,
            "code_hash": code_hash,
            "dhash": result.extra["image_stats"]["dhash"],
        }


def load_corpus(directory: str | Path):
    """The DatasetDict written by a build (``RUN_DIR/01_data/corpus/dataset``)."""
    from datasets import load_from_disk

    return load_from_disk(str(Path(directory)))


def corpus_metrics(report: BuildReport, dataset) -> dict:
    """What 01_data records in metrics.json (checked against the dataset itself, not the report)."""
    tables = {split: set(dataset[split]["table_id"]) for split in dataset}
    overlap = sum(len(tables[a] & tables[b]) for i, a in enumerate(SPLITS) for b in SPLITS[i + 1 :])
    return {
        "n_pairs": {split: len(dataset[split]) for split in dataset},
        "n_chart_types": min(len(set(dataset[split]["chart_type"])) for split in dataset),
        "chart_types_per_split": {split: len(set(dataset[split]["chart_type"])) for split in dataset},
        "libraries_per_split": {split: dict(Counter(dataset[split]["library"])) for split in dataset},
        "n_tables": {split: len(t) for split, t in tables.items()},
        "n_tables_available": report.n_tables,
        "table_overlap_between_splits": overlap,
        "sources": dict(Counter(s for split in dataset for s in dataset[split]["source"])),
        "filter_counts": dict(report.filter_counts),
        "attempted": report.attempted,
        "rendered": report.rendered,
        "build_seconds": round(report.seconds, 1),
        "charts_per_s": round(report.charts_per_s, 2),
        "resumed_shards": report.resumed_shards,
        "table_errors": report.table_errors,
        "median_code_tokens": float(np.median(dataset["sft"]["n_tokens"])),
    }
