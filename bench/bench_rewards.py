"""Reward time inside GRPO: the share of a step spent waiting for rewards, per stage, from short runs.

    python bench/bench_rewards.py [--run-dir outputs/small] [--steps 3]

Starts from the run's SFT model (02) and runs a few GRPO steps of stage 1 (textual + execution),
stage 2 (adds the visual reward: the embedded judge, OCR included) and the single-stage hybrid, with
the small preset's group size, batch and completion length. The share is the time spent inside the
reward functions over the step time (``RewardClock``); the prints give the CPU.

Target (issue 16): below 20 % in every stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=Path("outputs/small"))
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()

    from msrl.data.corpus import DATASET_DIR, load_corpus
    from msrl.execution.sandbox import RenderPool
    from msrl.paths import CHECKPOINT_DIR, CORPUS_DIR, stage_dir
    from msrl.presets import get_preset
    from msrl.scoring.judges import make_judge
    from msrl.training import curriculum
    from msrl.training.grpo import rl_prompts, train_grpo
    from msrl.training.precision import cpu_name

    preset = get_preset("small")
    base = stage_dir(args.run_dir, "02") / CHECKPOINT_DIR
    if not (base / "config.json").exists():
        raise SystemExit(f"no SFT model in {base}: run the series first (make run)")
    corpus = load_corpus(stage_dir(args.run_dir, "01") / CORPUS_DIR / DATASET_DIR)
    runs = {
        "stage 1": preset.rl_stage1,
        "stage 2": preset.rl_stage2,
        "hybrid": curriculum.single_stage(preset, preset.rl_stage2.weights),
    }
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    group = preset.rl_stage1.num_generations
    print(f"CPU: {cpu_name()} ({capability}), GRPO in fp32 on CPU; {args.steps} steps per run, G={group}")
    print("| run | weights (wt, wv, we) | reward share of a step | step s |")
    print("|---|---|---|---|")
    with RenderPool.for_data(preset.data) as pool, tempfile.TemporaryDirectory() as tmp:
        for name, stage in runs.items():
            stage = dataclasses.replace(stage, max_steps=args.steps, save_steps=1000)
            prompts = rl_prompts(corpus["rl"], preset.instruction, stage.batch_size * args.steps)
            record = train_grpo(preset, stage, base, prompts, Path(tmp) / name, pool, make_judge(preset.judge))
            step_s = record["seconds"] / max(1, record["global_step"])
            share = record["reward_time_share"]
            print(f"| {name} | {stage.weights} | **{100 * share:.0f} %** | {step_s:.1f} |", flush=True)


if __name__ == "__main__":
    main()
