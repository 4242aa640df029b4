# Developer entry points. Each target sets up .venv (with the [dev] extra) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help demo test test-fast test-compose bench bench-quick lint typecheck generate \
	check-generated docs venv clean
.DEFAULT_GOAL := help

# The pure suite: the tests that need no server (servers-marked tests are left out
# by -m, e.g. the server half of tests/classifier/test_corpus_servers.py).
FAST_TESTS := tests/core tests/classifier tests/tools/test_async_to_sync.py \
	tests/docs/test_docs.py tests/cli/test_cli_help.py tests/cli/test_cli_route.py \
	tests/harness/test_compose_backend.py
# The failover suite that also runs against docker compose nodes.
COMPOSE_TESTS := tests/harness/test_nodes.py tests/failover/test_failover.py \
	tests/failover/test_failover_async.py tests/failover/test_faults_replica.py \
	tests/failover/test_faults_replica_async.py tests/failover/test_faults_sessions.py \
	tests/failover/test_fallback.py tests/failover/test_no_primary.py \
	tests/harness/test_compose_nodes.py \
	tests/cli/test_cli_demo.py::test_demo_on_compose_nodes

## These targets and what each does (the "## " comments above them).
help:
	@awk '/^## / { doc[n++] = substr($$0, 4); next } \
		/^[a-z][a-z-]*:/ && n { sub(/:.*/, ""); printf "  %-16s %s\n", $$0, doc[0]; \
			for (i = 1; i < n; i++) printf "  %-16s %s\n", "", doc[i] } \
		{ n = 0 }' $(MAKEFILE_LIST)

$(BIN)/pgcluster: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

## .venv, with the project and its [dev] extra (the other targets make it).
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

## The pure suite, no server and no Docker, in seconds: run it after every edit.
test-fast: venv
	$(BIN)/python -m pytest -m "not servers" $(FAST_TESTS)

## The failover suite against nodes started by docker compose (docs/compose.md).
## COMPOSE_FILE chooses the files: compose.yaml + compose.override.yaml by default,
## compose.yaml:compose.local.yaml on a machine set up by tools/compose-env.
test-compose: venv
	PGCLUSTER_TEST_TARGET=compose $(BIN)/python -m pytest $(COMPOSE_TESTS)

## ruff check and ruff format --check.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## mypy --strict on the package, the tests, tools/ and bench/ (MYPY_ARGS: more options).
typecheck: venv
	$(BIN)/mypy --strict $(MYPY_ARGS)

## Regenerate the sync modules from their async sources.
generate: venv
	$(BIN)/python tools/async_to_sync.py

## Fail if a generated file is stale, or no async source generates it any more.
check-generated: venv
	$(BIN)/python tools/async_to_sync.py --check

## The documentation site, built into site/, warnings as errors (mkdocs serve: live).
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## Remove .venv (and .ci/run's .venv-3.X), the caches and the built site.
clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .mypy_cache .ruff_cache site
