# One entry point per job. Every target creates .venv and installs what it
# needs on first use, so a fresh clone needs only Python 3.11+ and a JDK 17.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# MLflow 3 sends usage telemetry by default; this project keeps it off.
export MLFLOW_DISABLE_TELEMETRY := true

DATA ?=
TARGET ?=
ARGS ?=

.PHONY: install java train demo down doctor test lint typecheck pytest bench bench-quick reliability reliability-quick clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[train,serve,ui,test,dev]'
	touch $(STAMP)

install: $(STAMP)

## Compile the project's Java batch scorer against the genmodel jar.
java: install
	$(PY) -m serving.javabuild

## Train on DATA/TARGET (default: the demo table) and register the MOJO.
train: install
	$(PY) -m training $(if $(DATA),--data $(DATA)) $(if $(TARGET),--target $(TARGET)) $(ARGS)

## The whole restaurant on 127.0.0.1: MLflow UI 5000, scorer 8000, UI 8501.
demo: install
	$(PY) -m ops.stack up

down: install
	$(PY) -m ops.stack down

doctor: install
	$(PY) -m ops.doctor

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	$(PY) -m pytest $(ARGS)

## The whole test suite: format, lint, types, then every test.
test: lint typecheck pytest

bench: install
	$(PY) -m bench.run $(ARGS)

bench-quick: install
	$(PY) -m bench.run --quick $(ARGS)

reliability: install
	$(PY) -m bench.reliability $(ARGS)

reliability-quick: install
	$(PY) -m bench.reliability --quick $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
