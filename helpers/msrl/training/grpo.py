"""GRPO for the vision-language model through TRL's GRPOTrainer: the paper's two-stage curriculum.

Reward ``R = wt * textual + wv * visual + we * execution``: the three are separate TRL rewards
built for each run by ``msrl.scoring.rewards.reward_funcs`` (with the run's renderer and judge) and the
weights go to ``GRPOConfig.reward_weights`` from the stage preset; a reward whose weight is 0 for
the whole run is not computed at all. TRL logs each
component (``rewards/<name>/mean``). Stage 1 uses weights (1, 0, 0.5) on the first ``n_prompts`` of
the ``rl`` split; stage 2 (0.5, 0.5, 0.5) on the next, disjoint ``n_prompts``, starting from stage 1.

Completions are executed in the sandbox pool, all completions of a batch in parallel and once for
every reward; ``RewardClock`` measures reward time as a share of each training step and logs it
(``reward_time_share``). A killed run resumes from ``trainer/checkpoint-N``; a finished one
(``grpo_done.json``) is not trained again.

``weight_schedule`` (ablations) maps the training progress 0..1 to weights, e.g. the linear ramp of
the visual weight (``msrl.training.curriculum``); it updates the trainer's weights before each step. The
stages' order and prompt subsets are the curriculum's (``msrl.training.curriculum``).

Departures: the paper trained with MM-EUREKA's GRPO; we use TRL's (loss ``dapo``: token-level
normalisation; no KL term, ``beta`` 0, as in MM-EUREKA's default). Group size, temperature and
completion length are not given in the paper: see the presets for the values and reasons.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from msrl.execution import ocr
from msrl.paths import CHECKPOINT_DIR, TRAINER_DIR, read_json, write_json
from msrl.presets import Preset, RLStagePreset
from msrl.training.curriculum import STAGE_KEYS, prompt_offset
from msrl.training.distributed import (
    ResumesWithFromPretrained,
    exit_with_launcher,
    finish_process_group,
    model_source,
    use_cpu,
)
from msrl.training.precision import choose_bf16
from msrl.training.prompts import split_prompts
from msrl.training.sft import last_checkpoint

REWARD_NAMES = ("textual", "visual", "execution")  # the order of the preset's weight triples
DONE_FILE = "grpo_done.json"


def rl_prompts(split, instruction: str, n: int, offset: int = 0, ocr_prompt: bool = False):
    """Rows ``offset .. offset+n`` of the ``rl`` split as {prompt, image, record} and the corpus's
    ``chart_text`` where it has one (stages disjoint);
    with ``ocr_prompt`` each prompt carries what OCR read in its image (msrl.training.prompts)."""
    if offset + n > len(split):
        raise ValueError(f"the rl split has {len(split)} rows; rows {offset}..{offset + n} were asked for")
    rows = split.select(range(offset, offset + n))
    prompts = split_prompts(rows, instruction, ocr_prompt)  # built outside `map`: see split_prompts
    return rows.map(
        lambda row, i: {
            "prompt": prompts[i],
            "image": row["image"],
            "record": row["record"],
        },
        with_indices=True,
        # chart_text (what OCR read in 01) stays for the judge: train_grpo hands it to msrl.execution.ocr
        remove_columns=[c for c in rows.column_names if c not in ("image", "record", "chart_text")],
    )


def active_rewards(weights, schedule: Callable | None = None) -> list[str]:
    """Rewards to compute: those with a non-zero weight now or at any point of the schedule."""
    ramp = [schedule(t) for t in (0.0, 0.5, 1.0)] if schedule else []
    return [name for i, name in enumerate(REWARD_NAMES) if weights[i] != 0 or any(w[i] != 0 for w in ramp)]


def grpo_config(stage: RLStagePreset, out_dir: Path, seed: int, weights: list[float], bf16: bool = False):
    from trl import GRPOConfig

    return GRPOConfig(
        output_dir=str(out_dir),
        learning_rate=stage.lr,
        max_steps=stage.max_steps,
        num_train_epochs=1,
        per_device_train_batch_size=stage.batch_size,
        gradient_accumulation_steps=stage.grad_accum,
        num_generations=stage.num_generations,
        max_completion_length=stage.max_completion_length,
        temperature=stage.temperature,
        repetition_penalty=stage.repetition_penalty,
        beta=stage.beta,
        loss_type=stage.loss_type,
        reward_weights=weights,
        mask_truncated_completions=False,  # a looping, truncated program is a failure to learn from
        use_vllm=stage.use_vllm,
        vllm_mode="colocate",
        lr_scheduler_type=stage.scheduler,
        warmup_steps=stage.warmup_ratio,  # a float < 1 is a share of the steps
        logging_steps=stage.logging_steps,
        save_steps=stage.save_steps,
        save_total_limit=stage.save_total_limit,
        report_to=["tensorboard"],
        bf16=bf16,
        use_cpu=use_cpu(),  # several processes on CPU need it (distributed.py)
        seed=seed,
        data_seed=seed,
        remove_unused_columns=False,  # the rewards read the `image` and `record` columns
        dataloader_num_workers=0,
        log_completions=False,
        disable_tqdm=False,
    )


class RewardClock:
    """Wraps reward functions to time them; a callback logs their share of each step's time."""

    def __init__(self):
        self.reward_seconds = 0.0
        self.step_seconds = 0.0
        self._step_start = None
        self._reward_at_step = 0.0
        self.history: list[dict] = []

    def wrap(self, function):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.reward_seconds += time.perf_counter() - start

        timed.__name__ = function.__name__  # TRL logs rewards under the function's name
        return timed

    def callback(self):
        from transformers import TrainerCallback

        clock = self

        class _Callback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                clock._step_start = time.perf_counter()
                clock._reward_at_step = clock.reward_seconds

            def on_step_end(self, args, state, control, **kwargs):
                if clock._step_start is None:
                    return
                step = time.perf_counter() - clock._step_start
                reward = clock.reward_seconds - clock._reward_at_step
                clock.step_seconds += step
                clock.history.append({"step": state.global_step, "step_s": step, "reward_s": reward})

            def on_log(self, args, state, control, logs=None, **kwargs):
                if logs is not None and clock.history:
                    logs["reward_time_share"] = round(clock.history[-1]["reward_s"] / clock.history[-1]["step_s"], 4)

        return _Callback()

    @property
    def share(self) -> float:
        return self.reward_seconds / self.step_seconds if self.step_seconds else 0.0


def _schedule_callback(trainer_ref: dict, schedule: Callable, names: list[str]):
    from transformers import TrainerCallback

    class _Schedule(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            import torch

            progress = state.global_step / max(1, state.max_steps)
            weights = dict(zip(REWARD_NAMES, schedule(progress)))
            trainer_ref["trainer"].reward_weights = torch.tensor([weights[n] for n in names], dtype=torch.float32)

    return _Schedule()


def _trainer_class():
    from trl import GRPOTrainer

    class ResumableGRPOTrainer(ResumesWithFromPretrained, GRPOTrainer):
        """TRL's GRPO trainer whose resume keeps the weights it was given (distributed.py)."""

    return ResumableGRPOTrainer


def train_grpo(
    preset: Preset,
    stage: RLStagePreset,
    base: str | Path,
    prompts,
    out_dir: str | Path,
    pool=None,
    judge=None,
    weight_schedule: Callable | None = None,
    callbacks=None,
) -> dict:
    """GRPO from ``base`` on ``prompts`` (see ``rl_prompts``); resume if interrupted.

    Returns {"log_history", "global_step", "resumed_from", "seconds", "reward_time_share",
    "rewards"}; the model is saved in ``out_dir/checkpoint`` for the next stage.
    """
    from msrl.scoring import rewards
    from msrl.training.model import load_model_and_processor

    out_dir = Path(out_dir)
    if (out_dir / DONE_FILE).exists() and (out_dir / CHECKPOINT_DIR / "config.json").exists():
        return read_json(out_dir / DONE_FILE)
    names = active_rewards(stage.weights, weight_schedule)
    weights = [stage.weights[REWARD_NAMES.index(n)] for n in names]
    context = rewards.context_from_preset(preset, rewards.CompletionRenderer(pool), judge)
    clock = RewardClock()
    reward_funcs = [clock.wrap(f) for f in rewards.reward_funcs(names, context)]

    trainer_dir = out_dir / TRAINER_DIR
    exit_with_launcher()
    resume = last_checkpoint(trainer_dir)
    model, processor = load_model_and_processor(model_source(base, resume), preset.model, for_training=True)
    # The run's precision choice (precision.py), as for SFT: on a CPU with native bf16 a stage-1 step of
    # the small preset took 7.3 s in bf16 against 7.8 s in fp32 (4 steps, two runs each, alternating).
    precision = choose_bf16(preset.sft.bf16)
    config = grpo_config(stage, trainer_dir, preset.seed, weights, bf16=precision["bf16"])
    trainer_ref: dict = {}
    all_callbacks = [clock.callback(), *(callbacks or [])]
    if weight_schedule is not None:
        all_callbacks.append(_schedule_callback(trainer_ref, weight_schedule, names))
    trainer = _trainer_class()(
        model=model,
        reward_funcs=reward_funcs,
        args=config,
        train_dataset=prompts,
        processing_class=processor,
        callbacks=all_callbacks,
    )
    trainer_ref["trainer"] = trainer
    if judge is not None and "chart_text" in prompts.column_names:
        # The embedded judge reads each reference chart's text: the corpus read it already (01).
        ocr.remember(prompts["image"], prompts["chart_text"])
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - start
    record = {
        "log_history": trainer.state.log_history,
        "global_step": trainer.state.global_step,
        "resumed_from": resume,
        "seconds": seconds,
        "reward_time_share": clock.share,
        "rewards": dict(zip(names, weights)),
        "precision": precision,
    }
    if trainer.accelerator.is_main_process:
        trainer.model.save_pretrained(str(out_dir / CHECKPOINT_DIR))
        processor.save_pretrained(str(out_dir / CHECKPOINT_DIR))
        write_json(out_dir / DONE_FILE, record)  # atomic: a kill never leaves half a record
    return record


def run_stage(
    preset: Preset,
    stage_key: str,
    rl_split,
    bases: dict,
    out_dir: str | Path,
    pool,
    judge,
    stage: RLStagePreset | None = None,
    weight_schedule: Callable | None = None,
    progress=print,
) -> dict:
    """Train one RL stage once per seed (``bases``: seed -> starting checkpoint) in
    ``out_dir/seed-N``; returns {seed: record}. Seeds vary rollout sampling and prompt order."""
    import dataclasses

    stage = stage or getattr(preset, stage_key)
    prompts = rl_prompts(
        rl_split, preset.instruction, stage.n_prompts, prompt_offset(preset, stage_key), preset.model.ocr_prompt
    )
    records = {}
    for seed, base in bases.items():
        records[seed] = train_grpo(
            dataclasses.replace(preset, seed=seed),
            stage,
            base,
            prompts,
            Path(out_dir) / f"seed-{seed}",
            pool=pool,
            judge=judge,
            weight_schedule=weight_schedule,
        )
        last = [h for h in records[seed]["log_history"] if "reward" in h]
        progress(
            f"{stage_key} seed {seed}: {records[seed]['global_step']} steps in "
            f"{records[seed]['seconds']:.0f} s, reward {last[0]['reward']:.3f} -> {last[-1]['reward']:.3f}, "
            f"reward time {100 * records[seed]['reward_time_share']:.0f} % of a step"
            if last
            else ""
        )
    return records


RUN_PREFIXES = {"04_rl_stage1": "stage1", "05_rl_stage2": "stage2"}


def run_name(stage_name: str, seed: int) -> str:
    """The name a stage's run is evaluated under (its saved generations are found by it later)."""
    return f"{RUN_PREFIXES[stage_name]}-seed{seed}"


def seed_checkpoints(out_dir: str | Path, seeds) -> dict:
    """{seed: checkpoint folder} of a stage trained by ``run_stage``."""
    return {seed: Path(out_dir) / f"seed-{seed}" / CHECKPOINT_DIR for seed in seeds}


def run_summaries(records: dict) -> dict:
    """``run_stage``'s records as stages save them in metrics.json (without the log history)."""
    return {
        str(seed): {
            "steps": run["global_step"],
            "seconds": round(run["seconds"], 1),
            "reward_time_share": round(run["reward_time_share"], 3),
            "rewards": run["rewards"],
            "resumed_from": run["resumed_from"],
        }
        for seed, run in records.items()
    }


def main(argv=None) -> int:
    """Train stage 04 or 05 outside a notebook (multi-GPU, vLLM rollouts):
    accelerate launch --config_file helpers/msrl/configs/accelerate_zero3.yaml \
        -m msrl.training.grpo --scale paper --stage 1
    then run the 04/05 notebook, which finds the finished runs (grpo_done.json) and evaluates them."""
    import argparse

    from msrl.data.corpus import DATASET_DIR, load_corpus
    from msrl.execution.sandbox import RenderPool
    from msrl.paths import CORPUS_DIR, OUTPUTS_DIR, stage_dir
    from msrl.presets import add_override_argument, get_preset
    from msrl.scoring.judges import make_judge

    parser = argparse.ArgumentParser(prog="python -m msrl.training.grpo", description=main.__doc__.splitlines()[0])
    parser.add_argument("--scale", default="paper")
    parser.add_argument("--stage", choices=("1", "2"), required=True)
    parser.add_argument("--run-dir", type=Path)
    add_override_argument(parser)
    args = parser.parse_args(argv)
    preset = get_preset(args.scale, dict(args.overrides))
    run_dir = args.run_dir or OUTPUTS_DIR / args.scale
    corpus = load_corpus(stage_dir(run_dir, "01") / CORPUS_DIR / DATASET_DIR)
    if args.stage == "1":
        bases = {seed: stage_dir(run_dir, "02") / CHECKPOINT_DIR for seed in preset.rl_seeds}
    else:
        bases = seed_checkpoints(stage_dir(run_dir, "04"), preset.rl_seeds)
    out = stage_dir(run_dir, "04" if args.stage == "1" else "05")
    judge = make_judge(preset.judge, cache_path=out / "judge_cache.jsonl")
    with RenderPool.for_data(preset.data) as pool:
        run_stage(preset, STAGE_KEYS[int(args.stage) - 1], corpus["rl"], bases, out, pool, judge)
    finish_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
