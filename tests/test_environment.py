"""environment.yml and pyproject.toml must pin the same packages at the same versions."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(specs):
    pins = {}
    for spec in specs:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", spec.strip())
        assert match, f"not an exact pin: {spec!r}"
        pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_environment_yml_and_pyproject_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    from_pyproject = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    from_env = _pins([s for s in pip_section if not s.startswith("-e")])
    assert from_env == from_pyproject


def test_torch_is_pinned_to_the_cpu_wheel_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]
    assert "torch==2.13.0" in (ROOT / "Makefile").read_text()


# Where the GPU environment (environment-gpu.yml) may differ from the CPU one, and why. Anything else
# that both list must be pinned alike, so the two environments cannot drift apart unnoticed.
GPU_ONLY = {
    "vllm": "rollouts and `vllm serve` for the judge (needs a CUDA torch)",
    "torchvision": "vLLM's dependency",
    "torchaudio": "vLLM's dependency",
    "deepspeed": "ZeRO-3 for the paper-scale SFT and GRPO",
}
CPU_ONLY = {
    "pytest": "tests run on the CPU machines",
    "ruff": "lint runs on the CPU machines",
    "playwright": "the browser test runs on the CPU machines",
    "fastapi": "`transformers serve` in the judge-server test (CPU machines; the GPU judge is `vllm serve`)",
    "uvicorn": "`transformers serve` in the judge-server test",
    "openai": "`transformers serve` in the judge-server test",
    "huggingface-hub": "pulled in by transformers in the GPU environment, at the version vLLM accepts",
    "nbformat": "pulled in by papermill",
}
DIFFERENT = {
    "transformers": "vLLM 0.31.0 requires transformers >= 5.10.4, < 5.18",
    "numpy": "numpy 2.4.6 makes pip's resolver fail with vLLM 0.31.0 (ResolutionImpossible); 2.3.5 resolves",
}


def _gpu_pins():
    env = yaml.safe_load((ROOT / "environment-gpu.yml").read_text())
    return _pins(next(d["pip"] for d in env["dependencies"] if isinstance(d, dict)))


def test_the_gpu_environment_differs_from_the_cpu_one_only_where_listed():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    cpu = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    gpu = _gpu_pins()
    assert set(gpu) - set(cpu) == set(GPU_ONLY)
    assert set(cpu) - set(gpu) == set(CPU_ONLY)
    assert {name for name in set(cpu) & set(gpu) if cpu[name] != gpu[name]} == set(DIFFERENT)
