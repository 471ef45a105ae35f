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

.PHONY: venv ocr browser run report test lab bench gpu-env-check clean-outputs

# torch is installed first and pinned: `pip install torch==2.13.0` takes the CPU wheel from local
# disk here, while an unpinned torch (or one pulled in by another package) is a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	$(MAKE) --no-print-directory ocr browser
	touch $(STAMP)

# The embedded judge reads chart text with Tesseract in-process (tesserocr, a pip dependency); its
# English model comes with the Debian package tesseract-ocr. Installed when we can (root + apt-get);
# without it the judge scores the text dimension as missing and says so.
ocr:
	@command -v tesseract >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q tesseract-ocr >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q tesseract-ocr >/dev/null 2>&1)) \
	  && echo "installed tesseract-ocr" || echo "WARNING: could not install tesseract-ocr; judge text dimension disabled"; \
	else echo "WARNING: tesseract not found and not root: run 'sudo apt-get install tesseract-ocr' for the judge's text dimension"; fi

# The browser test drives JupyterLab in Debian's Chromium (Playwright, no downloaded browser).
browser:
	@command -v chromium >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q chromium >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
	  && echo "installed chromium" || echo "WARNING: could not install chromium; the browser test will be skipped"; \
	else echo "WARNING: chromium not found and not root: run 'sudo apt-get install chromium' for the browser test"; fi

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m msrl.run --scale $(SCALE) --run-dir $(RUN_DIR) $(ARGS)
	$(MAKE) --no-print-directory report

# README's results section is regenerated from the run's REPORT.md (written by 07_eval).
report: $(STAMP)
	$(PY) -m msrl.studies.report --run-dir $(RUN_DIR)

# ruff first (seconds): lint and format check, then the suite in one pytest process.
test: $(STAMP)
	$(VENV)/bin/ruff check helpers tests bench
	$(VENV)/bin/ruff format --check helpers tests bench
	$(PY) -m pytest -q $(ARGS)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

# Every ratio of the throughput issue in one run; the last four start from the series in RUN_DIR.
bench: $(STAMP)
	$(PY) bench/bench_corpus.py && $(PY) bench/bench_sandbox.py
	$(PY) bench/bench_generation.py --run-dir $(RUN_DIR) && $(PY) bench/bench_ocr.py --run-dir $(RUN_DIR)
	$(PY) bench/bench_rewards.py --run-dir $(RUN_DIR)
	$(PY) bench/bench_malloc.py --run-dir $(RUN_DIR)
	$(PY) bench/bench_prompt_text.py --run-dir $(RUN_DIR)

# pip's resolver on environment-gpu.yml's pip list, in a throwaway venv: installs nothing, downloads
# package metadata only. Run on a machine that reaches PyPI.
GPU_CHECK := /tmp/msrl-gpu-env-check
gpu-env-check: $(STAMP)
	rm -rf $(GPU_CHECK) && $(PYTHON) -m venv $(GPU_CHECK)
	$(PY) -c "import yaml; env = yaml.safe_load(open('environment-gpu.yml')); \
	  print('\n'.join(next(d['pip'] for d in env['dependencies'] if isinstance(d, dict))))" > $(GPU_CHECK)/requirements.txt
	$(GPU_CHECK)/bin/pip install -q --dry-run --ignore-installed --report $(GPU_CHECK)/report.json \
	  -r $(GPU_CHECK)/requirements.txt 2>&1 | grep -v "^WARNING: Location" ; \
	test -s $(GPU_CHECK)/report.json && echo "GPU environment resolves: $$($(PY) -c "import json; \
	  print(len(json.load(open('$(GPU_CHECK)/report.json'))['install']))") packages"

clean-outputs:
	rm -rf outputs/smoke outputs/small
