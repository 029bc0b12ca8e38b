# The README's commands. Every target installs what it needs into .venv first, exactly the
# versions pinned in uv.lock (so a fresh machine gets what the suite passed with).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

# uv from PATH when there is one; otherwise this version, installed once from PyPI into a small
# venv in the user cache (needs only python3 with its venv module, as .venv itself does).
UV_VERSION  := 0.13.9
UV_BOOTSTRAP := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/everreach/uv-$(UV_VERSION)
ifndef UV
UV := $(or $(shell command -v uv 2>/dev/null),$(UV_BOOTSTRAP)/bin/uv)
endif
# uv syncs into $(VENV) with the Python above and never downloads an interpreter of its own.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup lock check-lock demo test test-slow serve lint format clean-data bench bench-ingest bench-window reliability dev bench-export bench-forwarding bench-auth bench-backfill bench-retention bench-suppression bench-reset-pressure bench-pii bench-request-cpu bench-ingest-cpu

$(UV_BOOTSTRAP)/bin/uv:
	@echo "uv is not on PATH: installing uv $(UV_VERSION) from PyPI into $(UV_BOOTSTRAP)"
	@$(PYTHON) -m venv $(UV_BOOTSTRAP)
	@$(UV_BOOTSTRAP)/bin/python -m pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

$(STAMP): pyproject.toml uv.lock | $(UV)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed: run make PYTHON=python3.11 ...")'
	@echo "installing the versions in uv.lock into $(VENV)..."
	@$(UV) sync --quiet --locked --extra dev --python $(PYTHON)
	@touch $(STAMP)

setup: $(STAMP)

## Re-resolve uv.lock after a change to pyproject.toml (LOCK_ARGS=--upgrade moves every pin).
lock: | $(UV)
	$(UV) lock $(LOCK_ARGS)

## Fails when uv.lock no longer matches pyproject.toml (run by CI before anything else).
check-lock: | $(UV)
	@$(UV) lock --check \
	  || { echo "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock" >&2; exit 1; }

## The main job end to end on the embedded Postgres (or EVERREACH_DATABASE_URL).
demo: setup
	$(BIN)/everreach demo

## The whole suite except scenarios marked slow.
test: setup
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

test-slow: setup
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

## Failure scenarios (SIGKILL, database restart, shared limits, hostile bodies): slow, run in CI.
reliability: setup
	$(BIN)/pytest -m slow tests/reliability $(PYTEST_ARGS)

## Benchmarks (not tests): figures and ratios against baselines measured in the same run.
bench: bench-ingest bench-window bench-export bench-forwarding bench-auth bench-backfill bench-retention bench-suppression bench-reset-pressure bench-pii bench-request-cpu bench-ingest-cpu

bench-ingest: setup
	$(BIN)/python -m bench.ingest

## Where an ingest run's CPU goes, per process, for ours and the two halves of the bound.
bench-ingest-cpu: setup
	$(BIN)/python -m bench.ingest_cpu

bench-window: setup
	$(BIN)/python -m bench.window

## Retention of 30 of 120 days over 10 M events: day partitions dropped vs DELETE, same run.
bench-retention: setup
	$(BIN)/python -m bench.retention $(BENCH_RETENTION_ARGS)

bench-forwarding: setup
	$(BIN)/python -m bench.forwarding

## A 30-day backfill on 1 and 2 Celery workers (needs Redis on 127.0.0.1:6379) vs local mode.
bench-backfill: setup
	$(BIN)/python -m bench.backfill_workers $(BENCH_BACKFILL_ARGS)

## PII survival and false-positive rates on tests/fixtures/pii_corpus, and the scrubber's cost.
bench-pii: setup
	$(BIN)/python -m bench.pii_corpus

## What checking tokens for revocation costs the collector: cached, uncached, no account.
bench-auth: setup
	$(BIN)/python -m bench.auth_check

## What refusing erased people costs the collector: the suppression lookup vs the store.
bench-suppression: setup
	$(BIN)/python -m bench.suppression

bench-request-cpu: setup
	$(BIN)/python -m bench.request_cpu

## Collector p50/p99 while attackers post reset tokens or wrong passwords, vs ingest alone.
bench-reset-pressure: setup
	$(BIN)/python -m bench.reset_pressure

## Export a 1 M-row day to Parquet vs pandas and raw COPY (BENCH_EXPORT_ARGS="--rows 10000000").
bench-export: setup
	$(BIN)/python -m bench.export $(BENCH_EXPORT_ARGS)

serve: setup
	$(BIN)/everreach serve

## The API (:8000) and the Dagster UI (:3000, `dagster dev` with workspace.yaml) on one database.
dev: setup
	$(BIN)/everreach dev

## ruff, and the import contract of pyproject.toml (the layers of the README's Layout section).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean-data:
	rm -rf .everreach
