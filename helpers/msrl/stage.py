"""What a notebook's third cell calls: resolve the preset and the stage's folder, seed everything.

``stage = msrl.stage.open_stage("02_sft", SCALE, SEED, RUN_DIR, INTERACTIVE, OVERRIDES)`` gives the
preset, the stage's output folder, paths to earlier stages' outputs and a ``save_metrics``. This
keeps notebooks to parameters, calls and displays.

Under the runner (``msrl.run``), the kernel also watches the runner that started it and exits when
it is gone: a runner killed mid-stage must not leave its notebook writing into a folder that the
next runner resumes. In JupyterLab nothing is watched.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from pathlib import Path

from msrl import paths
from msrl.presets import Preset, get_preset


def seed_everything(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover
        pass


@dataclass
class Stage:
    name: str
    preset: Preset
    run_dir: Path
    dir: Path
    interactive: bool = False

    @property
    def seed(self) -> int:
        """The run's seed: the preset's, which ``open_stage`` sets to the notebook's SEED."""
        return self.preset.seed

    def input(self, stage: str, *parts: str) -> Path:
        """A path inside an earlier stage's folder; a clear error if that stage has not run."""
        folder = paths.stage_dir(self.run_dir, stage)
        if not (folder / paths.METRICS).exists():
            raise FileNotFoundError(
                f"stage {paths.stage_name(stage)} has not finished in {self.run_dir}; run it first: "
                f"python -m msrl.run --scale {self.preset.name} --run-dir {self.run_dir} "
                f"--only {paths.stage_name(stage)[:2]}"
            )
        return folder.joinpath(*parts)

    def path(self, *parts: str) -> Path:
        """A path inside this stage's folder (parent folders created)."""
        target = self.dir.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def shared(self, *parts: str) -> Path:
        """A path in the run's cache folder, which every stage of the run reads and adds to."""
        target = self.run_dir.joinpath(paths.CACHE_DIR, *parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def save_figure(self, fig, name: str) -> Path:
        target = self.path(paths.FIGURES_DIR, f"{name}.png")
        fig.savefig(target, dpi=110, bbox_inches="tight")
        return target

    def save_metrics(self, metrics: dict) -> Path:
        """Write metrics.json; the runner takes its presence as 'stage done'."""
        record = {"stage": self.name, "scale": self.preset.name, "seed": self.seed, **metrics}
        return paths.write_json(self.dir / paths.METRICS, record)


def watch_runner() -> bool:
    """Exit this kernel when the runner named by ``MSRL_RUNNER_PID`` dies (its kernels are its
    children, so their parent changes). Returns whether a watch was started."""
    from msrl.training.distributed import exit_with_parent

    runner = os.environ.get(paths.RUNNER_PID_ENV)
    if not runner or os.getppid() != int(runner):
        return False  # not a kernel of a runner (JupyterLab, a test calling open_stage directly)
    exit_with_parent(int(runner))
    return True


def open_stage(
    name: str, scale: str, seed: int, run_dir: str = "", interactive: bool = False, overrides: dict | None = None
) -> Stage:
    name = paths.stage_name(name)
    # The notebook's SEED is the run's seed everywhere (model init, trainers, plateau runs); the
    # corpus keeps its own (DataPreset.seed), so that two seeds are scored on the same items.
    preset = replace(get_preset(scale, overrides), seed=seed)
    run = Path(run_dir) if run_dir else paths.OUTPUTS_DIR / scale
    stage = Stage(name=name, preset=preset, run_dir=run.resolve(), dir=(run / name).resolve(), interactive=interactive)
    stage.dir.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    watch_runner()
    return stage
