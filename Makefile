# Two commands for a new machine (Python 3.10+, make, git):
#   make demo   creates .venv, installs seqc with a CPU build of PyTorch, renders examples/seasons
#   make test   creates .venv, installs seqc and the test stack, runs ruff and the test suite
# PyTorch comes from TORCH_INDEX (its CPU wheels by default, a few hundred MB instead of several GB of
# CUDA build). With an NVIDIA GPU: make demo TORCH_INDEX=https://download.pytorch.org/whl/cu128
# (or install torch into .venv yourself first: an importable torch is kept as it is).

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
BIN := $(VENV)/bin

.PHONY: demo test setup setup-test clean-venv

demo: $(VENV)/.seqc-installed
	$(BIN)/seqc render examples/seasons/storyboard.yaml

test: $(VENV)/.seqc-test-installed
	$(BIN)/ruff check .
	$(BIN)/mypy seqc
	$(BIN)/python -m pytest -n 2 --dist loadfile

setup: $(VENV)/.seqc-installed

setup-test: $(VENV)/.seqc-test-installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, from TORCH_INDEX, unless the venv has one already; then seqc, which finds it installed
$(VENV)/.torch-installed: | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install "$(TORCH)" --index-url "$(TORCH_INDEX)"
	touch $@

$(VENV)/.seqc-installed: pyproject.toml $(VENV)/.torch-installed
	$(BIN)/python -m pip install -e .
	touch $@

# the test stack: developer tools, Ray, fsspec/s3fs and moto, playwright with Debian's chromium
$(VENV)/.seqc-test-installed: pyproject.toml tools/install-test-deps.sh $(VENV)/.seqc-installed
	$(BIN)/python -m pip install -e ".[dev,ray,remote,lora,controlnet,export]"
	bash tools/install-test-deps.sh
	touch $@

clean-venv:
	rm -rf $(VENV)
