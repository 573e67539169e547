# incidentlake — `make serve` and `make test` work on a fresh machine with Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install serve test lint bench demo migrate clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/incidentlake migrate

serve: install
	$(BIN)/incidentlake serve

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest -m "not benchmark" $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m pytest tests/benchmarks -m benchmark -s -q $(PYTEST_ARGS)

demo: install
	$(BIN)/incidentlake demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
