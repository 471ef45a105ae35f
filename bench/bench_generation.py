"""Evaluation generation speed: programs/s of the same eval items, four ways, side by side.

    python bench/bench_generation.py [--run-dir outputs/small] [--n 64]

On the run's SFT model (02) and its first ``n`` eval-split items, with the small preset's cap on new
tokens:

- in input order: batches of 16 as the items come (what generate_code did before it sorted);
- sorted: batches of 16 same-size images (same prompt length, less padding);
- sorted + the preset's repetition penalty, batch 16: what the evaluation ran until the small preset
  raised its batch;
- the same at the preset's batch (``eval.batch_size``): what the evaluation runs now. A batch runs
  until its longest program ends, and a step of the tiny model costs little more for 64 rows than
  for 16, so fewer, larger batches finish sooner.

Prints programs/s, new tokens/s, how many programs hit the token cap, and the ratios; gives the CPU.
"""

from __future__ import annotations

import argparse
import time

from shared_setup import add_run_dir_argument, cpu_line, sft_model_and_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_dir_argument(parser)
    parser.add_argument("--n", type=int, default=64)
    args = parser.parse_args()

    from msrl.evaluation.checkpoints import eval_split_items
    from msrl.training import generate
    from msrl.training.model import load_model_and_processor

    preset, checkpoint, corpus = sft_model_and_corpus(args.run_dir)
    items = eval_split_items(corpus["eval"], args.n)
    images = [item["image"] for item in items]
    model, processor = load_model_and_processor(checkpoint, preset.model)
    cap, batch, penalty = preset.eval.max_new_tokens, 16, preset.eval.repetition_penalty

    def in_input_order(**options):
        out = []
        for first in range(0, len(images), batch):  # one call per batch: generate_code keeps its order
            out += generate.generate_code(
                model, processor, images[first : first + batch], preset.instruction, cap, batch, **options
            )
        return out

    ways = {
        "in input order": lambda stats: in_input_order(stats=stats),
        "sorted": lambda stats: generate.generate_code(
            model, processor, images, preset.instruction, cap, batch, stats=stats
        ),
        f"sorted + repetition penalty {penalty}, batch {batch}": lambda stats: generate.generate_code(
            model, processor, images, preset.instruction, cap, batch, stats=stats, repetition_penalty=penalty
        ),
        f"sorted + repetition penalty {penalty}, batch {preset.eval.batch_size} (the preset's)": lambda stats: (
            generate.generate_code(
                model,
                processor,
                images,
                preset.instruction,
                cap,
                preset.eval.batch_size,
                stats=stats,
                repetition_penalty=penalty,
            )
        ),
    }
    tokenizer = processor.tokenizer
    dtype = next(model.parameters()).dtype
    print(f"CPU: {cpu_line()}, {dtype}; {len(images)} eval items, cap {cap}")
    print("| way | programs/s | new tokens/s | at the cap | vs in input order |")
    print("|---|---|---|---|---|")
    base = None
    for name, run in ways.items():
        stats = generate.GenerationStats()
        start = time.perf_counter()
        programs = run(stats)
        seconds = time.perf_counter() - start
        capped = sum(len(tokenizer(p)["input_ids"]) >= cap - 2 for p in programs)
        rate = len(programs) / seconds
        base = base or rate
        tokens = stats.new_tokens / seconds
        print(f"| {name} | {rate:.2f} | {tokens:.0f} | {capped}/{len(programs)} | {rate / base:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
