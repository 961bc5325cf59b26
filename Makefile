# Everyday commands. `make serve` installs and starts the server on SQLite; `make test` installs everything and
# runs the linters and the whole test suite. Both create the virtualenv $(VENV) when it is missing.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Extra arguments for `flagstaff serve`, e.g. `make serve SERVE_ARGS="--port 9000"`.
SERVE_ARGS ?=
# Extra arguments for a benchmark that takes them, e.g. `make bench-release-e2e BENCH_ARGS="--sqlite"`.
BENCH_ARGS ?=

.PHONY: serve test test-sdk-alone lint migrate bench bench-engine bench-server bench-propagation bench-fleet \
	bench-openfeature bench-metrics bench-metrics-ingest bench-release bench-release-e2e bench-schedules bench-webhooks \
	bench-console bench-console-releases clean

# Installs are recorded by stamp files inside the virtualenv, so a second run skips pip entirely unless a
# pyproject.toml changed. The SDK is installed in the same pip command, so pip resolves `flagstaff` locally.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: pyproject.toml sdk/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ./sdk -e .
	touch $@

# The dev install includes the runtime one, so it stamps both. It adds the SDK's OpenFeature extra, which mypy
# checks and the tests drive.
$(VENV)/.installed-dev: pyproject.toml sdk/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e "./sdk[openfeature]" -e ".[dev]"
	touch $(VENV)/.installed-runtime $@

serve: $(VENV)/.installed-runtime
	$(BIN)/flagstaff serve $(SERVE_ARGS)

migrate: $(VENV)/.installed-runtime
	$(BIN)/flagstaff migrate

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint test-sdk-alone
	$(BIN)/python -m pytest

# The SDK's own tests in a virtualenv holding only the SDK (a regular install, not editable) and its test tools:
# proof that it needs nothing of the server and that its package ships every file it reads.
SDK_VENV ?= $(VENV)-sdk
$(SDK_VENV)/bin/python:
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/python -m pip install --quiet --upgrade pip

test-sdk-alone: | $(SDK_VENV)/bin/python
	$(SDK_VENV)/bin/python -m pip install --quiet "./sdk[test]"
	$(SDK_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall ./sdk
	cd sdk && ../$(SDK_VENV)/bin/python -m pytest -q -p no:cacheprovider

# Benchmarks are readings, not tests: each prints a markdown table, recorded in bench/README.md.
bench: bench-engine bench-server bench-propagation bench-fleet bench-openfeature bench-metrics bench-release \
	bench-schedules bench-webhooks bench-console bench-console-releases bench-metrics-ingest bench-release-e2e

bench-server: $(VENV)/.installed-dev
	$(BIN)/python bench/server_bench.py

bench-propagation: $(VENV)/.installed-dev
	$(BIN)/python bench/propagation_bench.py

# SDK metrics: track() per call, is_enabled beside the SDK before metrics (taken from git), memory at 10,000
# flags (offline, about a minute).
bench-metrics: $(VENV)/.installed-dev
	$(BIN)/python bench/metrics_bench.py

# An OpenFeature flag check through the Flagstaff provider beside the SDK's own calls (offline, a few seconds).
bench-openfeature: $(VENV)/.installed-dev
	$(BIN)/python bench/openfeature_bench.py

# Server side of SDK metrics: ingest by report size and with concurrent reporters, and the stale-flag report
# at 10,000 flags (a real server on a throwaway PostgreSQL database, about 3 minutes).
bench-metrics-ingest: $(VENV)/.installed-dev
	$(BIN)/python bench/metrics_ingest_bench.py

# The rollout guard in a seeded simulation: false rollbacks and time to roll back (offline, a few minutes).
bench-release: $(VENV)/.installed-dev
	$(BIN)/python bench/release_bench.py

# Guarded rollouts on a real server and SDKs: time to roll back a 3x treatment on every SDK, and healthy plans
# completing, at 200, 1,000 and 3,000 requests/s (needs PostgreSQL; --sqlite for a file; about 20 minutes).
bench-release-e2e: $(VENV)/.installed-dev
	$(BIN)/python bench/release_e2e_bench.py $(BENCH_ARGS)

bench-schedules: $(VENV)/.installed-dev
	$(BIN)/python bench/schedule_bench.py

# Trigger fires, kills beside a hanging webhook receiver, and write-to-event delay (SQLite; a minute or two).
bench-webhooks: $(VENV)/.installed-dev
	$(BIN)/python bench/webhook_bench.py

# The web console's flag list of 1,000 flags, rendered in process on SQLite and PostgreSQL.
bench-console: $(VENV)/.installed-dev
	$(BIN)/python bench/console_bench.py --postgres

bench-console-releases: $(VENV)/.installed-dev
	$(BIN)/python bench/console_releases_bench.py --postgres

# 10,000 streams over two replicas behind nginx (needs nginx and redis-server installed).
bench-fleet: $(VENV)/.installed-dev
	$(BIN)/python bench/fleet_bench.py

# The offline engine comparison runs in its own virtualenv (.venv-bench), so the peer SDKs never enter $(VENV).
bench-engine:
	sh bench/setup.sh
	$(PYTHON) bench/engine_bench.py

# Removes tool caches only; delete $(VENV) by hand to start from a fresh virtualenv.
clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis
