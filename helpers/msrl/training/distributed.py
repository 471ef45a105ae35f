"""What the training code needs to know when it runs as several processes (``accelerate launch``,
``torchrun``): the rank's role, and a way to let the main process create shared files first.

Trainers shard data, save checkpoints from the main process and gather logs themselves (TRL and
transformers). Our own steps around them (the initial tiny model, the vision warm-up) write shared
folders: the main process does them first, the other ranks wait and then find them done. On a CPU
machine the trainers must be told ``use_cpu`` to run as several processes at all: without it
transformers sees no accelerator, picks "not parallel", and every rank trains alone on all the data
(the two-process rehearsal, tests/test_multiprocess.py, found this).

Two more things the rehearsal found:

- Killing the launcher (``torchrun``, ``accelerate launch``) with SIGKILL left its ranks running,
  writing into the run folder beside a resumed run. Each rank now exits when its launcher is gone
  (``exit_with_parent``; the notebook kernels of ``msrl.run`` do the same, msrl.stage).
- On resume, transformers' Trainer loaded the checkpoint's weights as a raw state dict. Qwen2.5-VL
  checkpoints store the hub's key names (``visual.*``, ``model.layers.*``), so nothing matched and
  training went on from the starting weights, with only a "missing keys" warning. Our trainers load
  the model from the checkpoint with ``from_pretrained``, which maps the names, and skip that raw
  load (``ResumesWithFromPretrained``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def use_cpu() -> bool:
    """What the trainers' ``use_cpu`` must be: True wherever there is no CUDA device."""
    from msrl.training.model import cuda_available

    return not cuda_available()


@contextlib.contextmanager
def main_process_first():
    """Run the block on the main process first, then on the others (a no-op in one process)."""
    if world_size() == 1:
        yield
        return
    from accelerate import PartialState

    with PartialState(cpu=use_cpu()).main_process_first():
        yield


def exit_with_parent(parent: int | None = None, interval_s: float = 0.5) -> None:
    """Exit this process (``os._exit``) as soon as its parent ``parent`` (default: the current one)
    is gone: it was killed, and whatever it started must not go on writing."""
    parent = os.getppid() if parent is None else parent

    def watch():
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(70)

    threading.Thread(target=watch, name="msrl-parent-watch", daemon=True).start()


def exit_with_launcher() -> None:
    """In a rank of a multi-process launch, exit when the launcher dies (a no-op in one process)."""
    if world_size() > 1:
        exit_with_parent()


def finish_process_group() -> None:
    """Destroy the process group at the end of a rank's successful run (a no-op in one process).

    Without it a rank could die of SIGABRT ("terminate called without an active exception") while
    the interpreter shuts down, after its work was saved: Gloo's worker threads were still alive
    (seen once in the two-process rehearsal; pytorch/pytorch#179291 describes the cause). Only on
    success: after a failure the other ranks may be inside a collective, and destroying would hang
    (torchtitan#1342)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def model_source(base, resume: str | None, use_lora: bool = False):
    """Where a trainer's model is loaded from: the checkpoint it resumes (full models), else ``base``."""
    return resume if resume and not use_lora else base


class ResumesWithFromPretrained:
    """Trainer mixin: on resume, the model's weights were already loaded from the checkpoint with
    ``from_pretrained`` (``model_source``); the Trainer's raw state-dict load is skipped, because for
    Qwen2.5-VL it silently loads nothing (module docstring). Adapters (PEFT) load as before."""

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        if hasattr(model if model is not None else self.model, "peft_config"):
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        return None
