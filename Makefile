# GlobalRetail analytics warehouse. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demo's scale factor: 1 is about 100k orders; the test suite uses its own small scale.
SCALE ?= 1
TEST_SCALE ?= 0.02

# SQL that sqlfluff lints (through the dbt templater, so Jinja is rendered as dbt renders it).
SQL_PATHS := models tests/dbt analyses

export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: help install demo test lint format clean lock

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the lock or the project metadata changes.
$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8"
	@# Precompile: imports are the bulk of a short command's time, and PYTHONDONTWRITEBYTECODE
	@# (set on some machines) would otherwise make every run compile dlt and dbt again.
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(STAMP) ## Create .venv and install the locked dependencies
	@echo "environment ready: $(VENV)"

demo: $(STAMP) ## Start the simulated GlobalRetail, load every source, build, test and publish
	$(BIN)/warehouse demo --scale $(SCALE)

test: $(STAMP) lint ## Everything CI runs: lint, pytest, and a full dbt build on test-scale data
	$(BIN)/pytest
	$(BIN)/warehouse --home var/test-build demo --scale $(TEST_SCALE) --reset
	$(BIN)/warehouse --home var/test-build demo stop
	@# The semantic layer: mf reads the project's target/semantic_manifest.json (dbt parse
	@# writes it), checks its rules, then queries every semantic model, dimension and metric
	@# on the test-build warehouse.
	WAREHOUSE_DUCKDB_PATH=var/test-build/warehouse.duckdb $(BIN)/dbt parse --quiet
	WAREHOUSE_DUCKDB_PATH=var/test-build/warehouse.duckdb $(BIN)/mf validate-configs

lint: $(STAMP) ## Lint Python (ruff) and SQL (sqlfluff)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p var
	$(BIN)/sqlfluff lint --processes 2 $(SQL_PATHS)

format: $(STAMP) ## Format Python and fix what sqlfluff can fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	@mkdir -p var
	$(BIN)/sqlfluff fix --processes 2 $(SQL_PATHS)

lock: | $(BIN)/python ## Re-resolve requirements.lock from pyproject.toml
	$(BIN)/python -m pip install --quiet "uv==0.13.8"
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--quiet -o requirements.lock

clean: ## Stop the demo database and remove every generated file (var/, target/, logs/)
	-@[ -x $(BIN)/warehouse ] && $(BIN)/warehouse demo stop || true
	rm -rf var target logs dbt_packages .pytest_cache
