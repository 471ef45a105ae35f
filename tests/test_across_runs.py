"""RL comparisons pooled over series of different SFT seeds (msrl.studies.across_runs), on the
session's smoke series and a copy of it that plays a second SFT seed."""

from __future__ import annotations

import re
import shutil

import pytest

from msrl.data.corpus import DATASET_DIR, load_corpus
from msrl.evaluation import checkpoints
from msrl.execution.sandbox import RenderPool
from msrl.paths import CORPUS_DIR, EVALUATIONS_DIR, MANIFEST, read_json, stage_dir, write_json
from msrl.presets import SMOKE
from msrl.studies import across_runs


def _means(line: str) -> dict[str, float]:
    return {m: float(v) for m, v in re.findall(r"(execution rate|low level) ([+-][\d.]+) \[", line)}


def test_each_rl_run_is_paired_with_its_own_sft_model_and_the_pairs_are_pooled(smoke_run, tmp_path):
    run_dir, _ = smoke_run
    other = tmp_path / "seed1"
    shutil.copytree(run_dir, other, ignore=shutil.ignore_patterns("checkpoint", "init", "*.safetensors"))
    write_json(other / MANIFEST, {**read_json(other / MANIFEST), "seed": 1})
    corpus = load_corpus(stage_dir(run_dir, "01") / CORPUS_DIR / DATASET_DIR)
    items = checkpoints.eval_split_items(corpus["eval"], SMOKE.eval.n_eval)
    # The second series' stage-2 programs become the references' own code: each executes.
    (folder, name) = across_runs.saved_programs(other, SMOKE)["GRPO stage 2"][0]
    path = folder / EVALUATIONS_DIR / checkpoints.evaluation_file(name, "eval split")
    saved = read_json(path)
    by_id = {f"eval-{i}": code for i, code in enumerate(corpus["eval"]["code"])}
    write_json(path, {**saved, "generated": [by_id[i] for i in saved["ids"]]})

    with RenderPool(workers=2) as pool:
        evaluations = across_runs.scored([run_dir, other], {"eval split": items}, pool, SMOKE)
    lines = across_runs.pooled_lines(evaluations)
    stage2 = {line.split(":")[0]: line for line in lines if "SFT -> GRPO stage 2:" in line}
    assert set(stage2) == {"eval split, pooled", "eval split, SFT seed 0", "eval split, SFT seed 1"}

    sft_executed = [bool(r["executed"]) for r in evaluations[("eval split", "SFT", (1, 0))].evaluation.rows]
    assert _means(stage2["eval split, SFT seed 1"])["execution rate"] == pytest.approx(
        100 * sum(not e for e in sft_executed) / len(items)
    )
    # series 0 alone is what its own stage 07 wrote
    (note,) = [
        n
        for n in read_json(stage_dir(run_dir, "07") / "metrics.json")["notes"]
        if n.startswith("eval split: SFT -> GRPO stage 2:")
    ]
    assert _means(stage2["eval split, SFT seed 0"]) == pytest.approx(_means(note), abs=0.05)
    pooled = _means(stage2["eval split, pooled"])
    each = [_means(stage2[f"eval split, SFT seed {s}"]) for s in (0, 1)]
    assert pooled["execution rate"] == pytest.approx((each[0]["execution rate"] + each[1]["execution rate"]) / 2)
    assert f"({2 * len(items)} item pairs)" in stage2["eval split, pooled"]
