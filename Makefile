# Everyday commands. `make serve` installs and starts the server on SQLite; `make test` installs everything and
# runs the linters and the whole test suite. Both create the virtualenv $(VENV) when it is missing.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Extra arguments for `flagstaff serve`, e.g. `make serve SERVE_ARGS="--port 9000"`.
SERVE_ARGS ?=

.PHONY: serve test lint migrate bench bench-engine clean

# Installs are recorded by stamp files inside the virtualenv, so a second run skips pip entirely unless a
# pyproject.toml changed. The SDK is installed in the same pip command, so pip resolves `flagstaff` locally.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: pyproject.toml sdk/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ./sdk -e .
	touch $@

# The dev install includes the runtime one, so it stamps both.
$(VENV)/.installed-dev: pyproject.toml sdk/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ./sdk -e ".[dev]"
	touch $(VENV)/.installed-runtime $@

serve: $(VENV)/.installed-runtime
	$(BIN)/flagstaff serve $(SERVE_ARGS)

migrate: $(VENV)/.installed-runtime
	$(BIN)/flagstaff migrate

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

# The offline engine comparison runs in its own virtualenv (.venv-bench), so the peer SDKs never enter $(VENV).
bench-engine:
	sh bench/setup.sh
	$(PYTHON) bench/engine_bench.py

# Removes tool caches only; delete $(VENV) by hand to start from a fresh virtualenv.
clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis
