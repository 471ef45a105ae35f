"""The model and its training: model, precision, generation, vision warm-up, SFT, GRPO, curriculum."""
