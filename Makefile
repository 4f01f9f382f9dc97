# The two commands a newcomer types: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_DEMO := $(VENV)/.demo-installed
STAMP_TEST := $(VENV)/.test-installed

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[keras,sklearn]"
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(STAMP_DEMO)

## demo: a real tuning search on scikit-learn's digits, stored in SQLite under demo_runs/
demo: $(STAMP_DEMO)
	$(BIN)/python -m tunewise.demo

## test: the whole test suite
test: $(STAMP_TEST)
	$(BIN)/python -m pytest -q

## bench: storage overhead against Optuna's SQLite storage
bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/storage_overhead.py

lint: $(STAMP_TEST)
	$(BIN)/ruff check tunewise tests benchmarks

clean:
	rm -rf $(VENV) demo_runs .pytest_cache
