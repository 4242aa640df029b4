# Developer entry points. Each target sets up .venv (with the [dev] extra) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-compose bench bench-quick lint typecheck generate check-generated docs venv clean

$(BIN)/pgcluster: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(BIN)/pgcluster

## A local primary + 2 replicas, a mixed workload, and where each statement went.
demo: venv
	$(BIN)/pgcluster demo

## The benchmarks: overhead, classification, throughput, pgpool-II, async vs sync, written to
## docs/benchmarks.{md,png,json} (a few minutes; installs pgpool2 with apt-get if missing).
bench: $(VENV)/.bench
	$(BIN)/python -m bench $(BENCH_ARGS)

## The same, short, printed only (well under a minute).
bench-quick: $(VENV)/.bench
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

$(VENV)/.bench: $(BIN)/pgcluster
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

## The whole test suite against real PostgreSQL servers started by the harness.
test: venv
	$(BIN)/python -m pytest

## The failover suite against nodes started by docker compose (docs/compose.md).
## COMPOSE_FILE chooses the files: compose.yaml + compose.override.yaml by default,
## compose.yaml:compose.local.yaml on a machine set up by tools/compose-env.
COMPOSE_TESTS := tests/harness/test_nodes.py tests/failover/test_failover.py \
	tests/failover/test_failover_async.py tests/failover/test_faults_replica.py \
	tests/failover/test_faults_replica_async.py tests/failover/test_faults_sessions.py \
	tests/failover/test_fallback.py tests/failover/test_no_primary.py \
	tests/harness/test_compose_nodes.py \
	tests/cli/test_cli_demo.py::test_demo_on_compose_nodes
test-compose: venv
	PGCLUSTER_TEST_TARGET=compose $(BIN)/python -m pytest $(COMPOSE_TESTS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy --strict

## Regenerate the sync modules from their async sources.
generate: venv
	$(BIN)/python tools/async_to_sync.py

check-generated: venv
	$(BIN)/python tools/async_to_sync.py --check

## The documentation site, built into site/ with warnings as errors (mkdocs serve: live preview).
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
