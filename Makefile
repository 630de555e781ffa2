# skuflow: `make demo` runs the engine on embedded defaults; `make test` runs the whole suite
# against real PostgreSQL, Redis and Kafka that it starts (and stops) on loopback.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
PYTEST_ARGS ?=

.PHONY: demo test soak check lint typecheck unit services-up services-down system-packages lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] < (3, 13), \
	  f"skuflow needs Python 3.11 or 3.12 (Bytewax 0.21 has no wheels beyond); found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)

# Installs are stamped on the lock and pyproject, so a second run does not reinstall.
$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(PIP) install --quiet -c requirements.lock -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/skuflow demo

system-packages:
	@bash deploy/install-system-packages.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -m "not integration and not soak" $(PYTEST_ARGS)

services-up: $(VENV)/.installed-dev system-packages
	$(BIN)/skuflow services up

services-down:
	-$(BIN)/skuflow services down

# Lint and type-check first, then the whole suite against the real services; the services are
# stopped whatever the outcome, and the exit code is pytest's.
test: lint typecheck services-up
	@status=0; $(BIN)/pytest --cov=state --cov-report=term-missing:skip-covered $(PYTEST_ARGS) || status=$$?; \
	  $(BIN)/skuflow services down; exit $$status

# The long reliability and load runs (SIGKILLs through the whole replay, 100k bad events, a
# 10-minute sustained load) against the same real services; each test prints its figure.
soak: services-up
	@status=0; $(BIN)/pytest -m soak -s $(PYTEST_ARGS) || status=$$?; \
	  $(BIN)/skuflow services down; exit $$status

# Refresh the pinned versions after changing dependencies in pyproject.toml.
lock: $(BIN)/python
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^skuflow' > requirements.lock
	rm -rf .lock-venv

clean: services-down
	rm -rf $(VENV) .services .pytest_cache .mypy_cache .ruff_cache
