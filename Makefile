# GlobalRetail analytics warehouse. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
# The demo's scale factor: 1 is about 100k orders; the test suite uses its own small scale.
SCALE ?= 1
TEST_SCALE ?= 0.02
# make bench: its own scale (10 unless SCALE is given on the command line or in the
# environment), runs per step (medians are reported) and warehouse home.
BENCH_SCALE := $(if $(filter command line environment,$(origin SCALE)),$(SCALE),10)
RUNS ?= 3
BENCH_HOME ?= var/bench-$(BENCH_SCALE)
DOCS_PORT ?= 8080
UI_PORT ?= 3000

# SQL that sqlfluff lints (through the dbt templater, so Jinja is rendered as dbt renders it).
SQL_PATHS := models tests/dbt analyses

export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: help install demo check test test-spark chaos bench docs ui lint format clean lock

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

# The optional Spark extras (pyspark, dbt-spark) on top of the default install; reinstalled
# whenever the default install is synced (which removes them) or their lock changes.
$(SPARK_STAMP): requirements-spark.lock $(STAMP)
	@# --no-deps: the lock is complete; resolving again would add what it leaves out (sqlglotrs).
	$(BIN)/uv pip install --quiet --compile-bytecode --no-deps --python $(BIN)/python \
		-r requirements-spark.lock
	touch $@

install: $(STAMP) ## Create .venv and install the locked dependencies
	@echo "environment ready: $(VENV)"

demo: $(STAMP) ## Start the simulated GlobalRetail, load every source, build, test and publish
	$(BIN)/warehouse demo --scale $(SCALE)

# Debian's chromium, for the docs site test (headless, driven by playwright). apt needs root.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

# Debian's PostgreSQL server, for the `sslmode = verify-full` test (the embedded one has no SSL).
DEBIAN_POSTGRES := /usr/share/doc/postgresql

$(DEBIAN_POSTGRES):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql

# The edit loop: lint, then every test not marked slow (no end-to-end build, no browser).
check: $(STAMP) lint ## Lint and the fast tests (pytest -m "not slow"), for the edit loop
	$(BIN)/pytest -m "not slow" -q

test: $(STAMP) $(CHROMIUM) $(DEBIAN_POSTGRES) lint ## Everything CI runs: lint, pytest, a full dbt build on test-scale data, the Spark build
	$(BIN)/pytest
	$(BIN)/warehouse --home var/test-build demo --scale $(TEST_SCALE) --reset
	$(BIN)/warehouse --home var/test-build demo stop
	@# The semantic layer: mf reads the project's target/semantic_manifest.json (dbt parse
	@# writes it), checks its rules, then queries every semantic model, dimension and metric
	@# on the test-build warehouse.
	WAREHOUSE_DUCKDB_PATH=var/test-build/warehouse.duckdb $(BIN)/dbt parse --quiet
	WAREHOUSE_DUCKDB_PATH=var/test-build/warehouse.duckdb $(BIN)/mf validate-configs
	@# The same project on local Spark, compared mart by mart with DuckDB (about 10 min).
	$(MAKE) --no-print-directory test-spark

# Both engines build the same test-scale world in var/test-spark: DuckDB from the raw schemas
# (the demo), Spark from the lake the same sources are landed in. The embedded PostgreSQL is
# stopped whatever happens; the comparison exits non-zero on any difference.
test-spark: $(SPARK_STAMP) ## Build the project on local Spark from the lake; compare every mart with DuckDB
	@set -e; home=var/test-spark; started=$$(date +%s); \
	trap '$(BIN)/warehouse --home $$home demo stop >/dev/null' EXIT; \
	$(BIN)/warehouse --home $$home demo --scale $(TEST_SCALE) --reset; \
	$(BIN)/warehouse --home $$home ingest --destination lake; \
	DBT_TARGET=spark $(BIN)/warehouse --home $$home build --exclude tag:duckdb_only; \
	$(BIN)/python -m tools.compare_engines --home $$home; \
	echo "test-spark: passed in $$(( $$(date +%s) - started )) s"

chaos: $(STAMP) ## The reliability suite: crashes, API faults, drift, bad input; prints its table
	$(BIN)/python -m tests.chaos

docs: $(STAMP) ## Generate the dbt docs site for the demo warehouse and serve it on DOCS_PORT (8080)
	$(BIN)/warehouse docs --serve --port $(DOCS_PORT)

ui: $(STAMP) ## Start the Dagster UI on UI_PORT (3000): the demo warehouse as assets, runs, schedules
	$(BIN)/warehouse ui --port $(UI_PORT)

bench: $(STAMP) ## Benchmark every step against its baseline (SCALE=10 RUNS=3); BENCHMARKS.md
	$(BIN)/python -m tools.bench --scale $(BENCH_SCALE) --runs $(RUNS) --home $(BENCH_HOME)

lint: $(STAMP) ## Lint Python (ruff), SQL (sqlfluff) and the docs' links
	$(BIN)/python -m tools.check_links
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p var
	$(BIN)/sqlfluff lint --processes 2 $(SQL_PATHS)

format: $(STAMP) ## Format Python and fix what sqlfluff can fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	@mkdir -p var
	$(BIN)/sqlfluff fix --processes 2 $(SQL_PATHS)

lock: | $(BIN)/python ## Re-resolve requirements.lock and requirements-spark.lock from pyproject.toml
	$(BIN)/python -m pip install --quiet "uv==0.13.8"
	@# dagster-dbt asks for sqlglot[rs]; sqlglot 29 no longer uses that tokenizer and warns on
	@# every import while it is installed, so it is left out of the lock.
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--no-emit-package sqlglotrs --quiet -o requirements.lock
	@# The spark extras resolved with the default lock as constraints: every package the two
	@# share keeps its version, so installing them on top changes nothing else.
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark -c requirements.lock \
		--python-version 3.11 --generate-hashes --no-emit-package sqlglotrs --quiet \
		-o requirements-spark.lock

clean: ## Stop the demo database and remove every generated file (var/, target/, logs/)
	-@[ -x $(BIN)/warehouse ] && $(BIN)/warehouse demo stop || true
	rm -rf var target logs dbt_packages .pytest_cache
