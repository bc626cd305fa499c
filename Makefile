# Two commands for a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test serve benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: the smoke scenario against the embedded platform.
run: $(STAMP)
	$(BIN)/loadlab run smoke

## Lint, type checks and the test suite.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

## The platform alone on http://localhost:8000.
serve: $(STAMP)
	$(BIN)/platform-api serve

## Timed comparisons (docs/benchmarks.md); the platform one needs Debian's wrk.
benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_platform.py
	$(BIN)/python benchmarks/bench_monitor.py --seconds 60 --runs 3
	$(BIN)/python benchmarks/bench_report.py --runs 5

clean:
	rm -rf $(VENV) results .mypy_cache .ruff_cache .pytest_cache
