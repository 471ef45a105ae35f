"""Device check for a lent GPU: SFT and GRPO steps of a mid-size Qwen2.5-VL, with where the time goes.

    python bench/device_check.py --out DIR            # on the GPU machine (about 5 minutes on one H200)
    python bench/device_check.py --out DIR --tiny     # the same code on the smoke model, on CPU (a rehearsal)

One script, no internet: it builds a small corpus (the smoke preset's tables, more pairs), trains a
tokenizer, creates a randomly initialised Qwen2.5-VL of ~0.3B parameters (text 1024 x 12 layers,
vision 512 x 8 blocks, 448 px images) and runs through the package's own training code:

- SFT steps (bf16 where the device has it, vision tower frozen, as the paper preset);
- GRPO steps of stage 2 (textual + visual + execution rewards, embedded judge), with vLLM rollouts
  (colocate) where vLLM imports and a GPU is present, else transformers' generate.

It prints, and writes to DIR/device_check.json: the device, seconds per SFT step and tokens/s; the
GRPO step split into generation, reward and update (the rest of the step), completion tokens/s; and
peak memory (GPU allocated, or the process's peak RSS on CPU). A random model writes garbage, so GRPO
here measures speed, not learning.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import time
from pathlib import Path

MID_SIZE = {  # ~0.3B parameters: big enough that the GPU, not Python, sets the step time
    "model.hidden_size": 1024,
    "model.num_layers": 12,
    "model.num_heads": 16,
    "model.num_kv_heads": 4,
    "model.intermediate_size": 2816,
    "model.vision_depth": 8,
    "model.vision_hidden": 512,
    "model.vision_heads": 8,
    "model.min_pixels": 224 * 224,
    "model.max_pixels": 448 * 448,
    "model.vocab_size": 4096,
    "data.n_sft": 256,
    "data.n_rl": 64,
    "data.image_px": 448,
    "data.dpi": 64,
    "sft.batch_size": 8,
    "sft.max_steps": 30,
    "sft.bf16": "auto",
    "sft.vision_warmup_steps": 0,
    "sft.freeze_vision": True,
    "sft.save_steps": 1000,
    "sft.logging_steps": 5,
}
GRPO_STEPS, GRPO_TINY_STEPS = 6, 2


class PhaseClock:
    """Seconds spent in named methods of a class (wrapped for the run, restored after)."""

    def __init__(self, cls, phases: dict[str, str]):
        self.cls, self.phases, self.seconds = cls, phases, dict.fromkeys(phases, 0.0)
        self.originals = {}

    def __enter__(self):
        for phase, method in self.phases.items():
            original = self.originals[method] = getattr(self.cls, method)

            def timed(*args, _original=original, _phase=phase, **kwargs):
                start = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds[_phase] += time.perf_counter() - start

            setattr(self.cls, method, timed)
        return self

    def __exit__(self, *exc):
        for method, original in self.originals.items():
            setattr(self.cls, method, original)


def device_facts() -> dict:
    import torch

    from msrl.training.precision import cpu_name

    if torch.cuda.is_available():
        return {"device": torch.cuda.get_device_name(0), "cuda": torch.version.cuda, "torch": torch.__version__}
    return {"device": f"CPU: {cpu_name()} ({platform.machine()})", "torch": torch.__version__}


def peak_memory_gib() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def vllm_usable() -> bool:
    import torch

    if not torch.cuda.is_available():
        return False
    try:
        import vllm  # noqa: F401
    except Exception:  # not installed, or built for another torch
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tiny", action="store_true", help="the smoke model's sizes (a CPU rehearsal)")
    args = parser.parse_args()

    import torch
    from trl import GRPOTrainer

    from msrl.data.corpus import CorpusBuilder, load_corpus
    from msrl.execution.sandbox import RenderPool
    from msrl.presets import get_preset
    from msrl.scoring.judges import make_judge
    from msrl.training.grpo import rl_prompts, train_grpo
    from msrl.training.model import base_checkpoint, parameter_count
    from msrl.training.sft import train_sft

    overrides = {k: v for k, v in MID_SIZE.items() if not (args.tiny and k.startswith(("model.", "data.")))}
    if args.tiny:
        overrides.update({"sft.max_steps": 4, "sft.batch_size": 4})
    preset = get_preset("smoke", overrides)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    report = {"facts": device_facts(), "preset": "smoke model" if args.tiny else "mid-size", "overrides": overrides}
    print(json.dumps(report["facts"]), flush=True)

    start = time.perf_counter()
    with RenderPool.for_data(preset.data) as pool:
        builder = CorpusBuilder(preset, out / "corpus", pool=pool)
        builder.build(out / "tokenizer")
        corpus = load_corpus(builder.save_dataset())
        report["corpus_seconds"] = round(time.perf_counter() - start, 1)
        base = base_checkpoint(preset.model, out / "tokenizer", out / "init", preset.seed)
        report["parameters"] = parameter_count(base)

        sft = train_sft(preset, base, corpus["sft"], out / "sft")
        code_tokens = sum(corpus["sft"]["n_tokens"]) / len(corpus["sft"]) * preset.sft.batch_size * sft["global_step"]
        report["sft"] = {
            "steps": sft["global_step"],
            "seconds_per_step": round(sft["seconds"] / max(1, sft["global_step"]), 3),
            "code_tokens_per_s": round(code_tokens / sft["seconds"], 1),  # trained tokens (prompt and image aside)
            "precision": sft["precision"],
        }
        print("SFT:", json.dumps(report["sft"]), flush=True)

        use_vllm = vllm_usable()
        stage = dataclasses.replace(
            preset.rl_stage2,
            max_steps=GRPO_TINY_STEPS if args.tiny else GRPO_STEPS,
            num_generations=2 if args.tiny else 8,
            batch_size=4 if args.tiny else 16,
            max_completion_length=48 if args.tiny else 512,
            use_vllm=use_vllm,
            save_steps=1000,
        )
        prompts = rl_prompts(
            corpus["rl"], preset.instruction, stage.batch_size * stage.max_steps, ocr_prompt=preset.model.ocr_prompt
        )
        phases = {"generation": "_generate", "reward": "_calculate_rewards", "step": "training_step"}
        with PhaseClock(GRPOTrainer, phases) as clock:
            grpo = train_grpo(
                preset, stage, out / "sft" / "checkpoint", prompts, out / "grpo", pool, make_judge(preset.judge)
            )
        steps = max(1, grpo["global_step"])
        step = clock.seconds["step"] / steps
        generation, reward = clock.seconds["generation"] / steps, clock.seconds["reward"] / steps
        logged = [h for h in grpo["log_history"] if "completions/mean_length" in h]
        completion_tokens = sum(h["completions/mean_length"] for h in logged) * stage.batch_size
        report["grpo"] = {
            "steps": grpo["global_step"],
            "rollouts": "vllm (colocate)" if use_vllm else "transformers generate",
            "seconds_per_step": round(step, 3),
            "generation_s": round(generation, 3),
            "reward_s": round(reward, 3),
            "update_s": round(step - generation - reward, 3),
            "completion_tokens_per_s": round(completion_tokens / max(1e-9, clock.seconds["generation"]), 1),
        }
        print("GRPO:", json.dumps(report["grpo"]), flush=True)
    report["peak_memory_gib"] = round(peak_memory_gib(), 2)
    report["total_seconds"] = round(time.perf_counter() - start, 1)
    (out / "device_check.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"peak memory {report['peak_memory_gib']} GiB; total {report['total_seconds']} s", flush=True)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
