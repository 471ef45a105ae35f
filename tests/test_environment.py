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
