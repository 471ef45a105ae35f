"""What the training code needs to know when it runs as several processes (``accelerate launch``,
``torchrun``): the rank's role, and a way to let the main process create shared files first.

Trainers shard data, save checkpoints from the main process and gather logs themselves (TRL and
transformers). Our own steps around them (the initial tiny model, the vision warm-up) write shared
folders: the main process does them first, the other ranks wait and then find them done. On a CPU
machine the trainers must be told ``use_cpu`` to run as several processes at all: without it
transformers sees no accelerator, picks "not parallel", and every rank trains alone on all the data
(the two-process rehearsal, tests/test_multiprocess.py, found this).
"""

from __future__ import annotations

import contextlib
import os


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
