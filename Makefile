# Two commands do all set-up on a fresh machine:
#   make run    -> creates .venv, installs, runs the notebook series at SCALE (default: small)
#   make test   -> creates/updates .venv if needed, runs the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SCALE ?= small
RUN_DIR ?= outputs/$(SCALE)
ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: venv run test lab bench clean-outputs

# torch is installed first and pinned: `pip install torch==2.13.0` takes the CPU wheel from local
# disk here, while an unpinned torch (or one pulled in by another package) is a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m msrl.run --scale $(SCALE) --run-dir $(RUN_DIR) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

bench: $(STAMP)
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

clean-outputs:
	rm -rf outputs/smoke outputs/small
