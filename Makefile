# Proofboard: two commands do all set-up on a machine with python3 (3.11+), git and make.
#   make run   start the dashboard on the embedded demo database (data/proofboard.db);
#              installs only the app's runtime dependencies; PORT=8502 make run for another port
#   make test  run the whole test suite: lint, types, layer contracts, unit, AppTest, browser

SHELL := /bin/bash
VENV := .venv
UV_HOME := .tools
# Use uv from PATH when there is one, else install it once into .tools/ with pip.
UV := $(or $(shell command -v uv 2>/dev/null),$(UV_HOME)/bin/uv)
export UV_PYTHON ?= python3
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false
PORT ?= 8501
ADDRESS ?= localhost

.PHONY: run test lint types contracts pytest bench clean

run: $(VENV)/.runtime
	$(VENV)/bin/proofboard dashboard --port $(PORT) --host $(ADDRESS)

test: $(VENV)/.synced lint types contracts pytest

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(VENV)/.synced
	$(VENV)/bin/mypy

contracts: $(VENV)/.synced
	$(VENV)/bin/lint-imports

pytest: $(VENV)/.synced
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.synced
	$(VENV)/bin/python benchmarks/bench_demo.py --members 1000000

$(UV_HOME)/bin/uv:
	python3 -m pip install --quiet --disable-pip-version-check --target $(UV_HOME) uv

# make run: only what the app needs (no test tools, no Spark or DuckDB extras); --inexact keeps
# what a full sync for make test installed
$(VENV)/.runtime: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --no-dev --inexact
	@touch $@

# make test: everything (dev tools and both extras)
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-extras
	@touch $@ $(VENV)/.runtime

clean:
	rm -rf $(VENV) $(UV_HOME) .pytest_cache .mypy_cache .ruff_cache
