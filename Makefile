# The README's two commands: `make demo` and `make test`. Each makes .venv if it is missing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_DB ?= sqlite:///demo.db
# Live traffic while the demo serves: simulated orders per hour across the city.
DEMO_ORDERS_PER_HOUR ?= 45

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	NEWRETAIL_DATABASE_URL=$(DEMO_DB) $(BIN)/newretail seed
	NEWRETAIL_DATABASE_URL=$(DEMO_DB) $(BIN)/newretail serve --live-orders --orders-per-hour $(DEMO_ORDERS_PER_HOUR)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest tests/unit

test: lint typecheck
	$(BIN)/pytest -n $${PYTEST_WORKERS:-2}

clean:
	rm -rf $(VENV) demo.db* .pytest_cache .mypy_cache .ruff_cache
