# One command per habit. Each target builds .venv first when pyproject.toml is newer than it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/iocfeed demo

test: $(STAMP)
	bash scripts/ensure-services.sh
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.api_bench $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.ingest_bench --rows 1000000
	$(BIN)/python -m benchmarks.sqlite_floor --rows 1000000
	$(BIN)/python -m benchmarks.ingest_budget --rows 1000000
	$(BIN)/python -m benchmarks.export_bench
	$(BIN)/python -m benchmarks.extract_bench
	$(BIN)/python -m benchmarks.screen_bench
	$(BIN)/python -m benchmarks.ui_bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
