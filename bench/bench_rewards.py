"""Reward time inside GRPO: the share of a step spent waiting for rewards, per stage, from short runs.

    python bench/bench_rewards.py [--run-dir outputs/small] [--steps 3]

Starts from the run's SFT model (02) and runs a few GRPO steps of stage 1 (textual + execution),
stage 2 (adds the visual reward: the embedded judge, OCR included) and the single-stage hybrid, with
the small preset's group size, batch and completion length. The OCR cache is emptied before each
run: the runs share prompts and seed, hence rollouts, and a later run would otherwise find its
images read already. The share is the time spent inside the reward functions over the step time
(``RewardClock``); the prints give the CPU.

Target (issue 16): below 20 % in every stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from shared_setup import add_run_dir_argument, cpu_line, sft_model_and_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_dir_argument(parser)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()

    from msrl.execution import ocr
    from msrl.execution.sandbox import RenderPool
    from msrl.scoring.judges import make_judge
    from msrl.training import curriculum
    from msrl.training.grpo import rl_prompts, train_grpo
    from msrl.training.precision import choose_bf16

    preset, base, corpus = sft_model_and_corpus(args.run_dir)
    runs = {
        "stage 1": preset.rl_stage1,
        "stage 2": preset.rl_stage2,
        "hybrid": curriculum.single_stage(preset, preset.rl_stage2.weights),
    }
    group = preset.rl_stage1.num_generations
    precision = choose_bf16(preset.sft.bf16)  # what train_grpo chooses: the run's precision
    print(f"CPU: {cpu_line()}, GRPO in {'bf16' if precision['bf16'] else 'fp32'} ({precision['reason']})")
    print(f"{args.steps} steps per run, G={group}")
    print("| run | weights (wt, wv, we) | reward share of a step | step s |")
    print("|---|---|---|---|")
    with RenderPool.for_data(preset.data) as pool, tempfile.TemporaryDirectory() as tmp:
        for name, stage in runs.items():
            stage = dataclasses.replace(stage, max_steps=args.steps, save_steps=1000)
            prompts = rl_prompts(
                corpus["rl"], preset.instruction, stage.batch_size * args.steps, ocr_prompt=preset.model.ocr_prompt
            )
            ocr.clear_cache()  # every run reads its images cold (the runs draw the same rollouts)
            record = train_grpo(preset, stage, base, prompts, Path(tmp) / name, pool, make_judge(preset.judge))
            step_s = record["seconds"] / max(1, record["global_step"])
            share = record["reward_time_share"]
            print(f"| {name} | {stage.weights} | **{100 * share:.0f} %** | {step_s:.1f} |", flush=True)


if __name__ == "__main__":
    main()
