# The README's commands. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup demo test test-slow serve lint format clean-data bench bench-ingest bench-window reliability dev bench-export bench-forwarding bench-auth bench-pii

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed: run make PYTHON=python3.11 ...")'
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@echo "installing dependencies into $(VENV) (first run takes a minute)..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

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
bench: bench-ingest bench-window bench-export bench-forwarding bench-auth bench-pii

bench-ingest: setup
	$(BIN)/python -m bench.ingest

bench-window: setup
	$(BIN)/python -m bench.window

bench-forwarding: setup
	$(BIN)/python -m bench.forwarding

## PII survival and false-positive rates on tests/fixtures/pii_corpus, and the scrubber's cost.
bench-pii: setup
	$(BIN)/python -m bench.pii_corpus

## What checking tokens for revocation costs the collector: cached, uncached, no account.
bench-auth: setup
	$(BIN)/python -m bench.auth_check

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
