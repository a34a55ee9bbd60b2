# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Both create the virtual environment and install the project the first time.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FSCONF := $(VENV)/bin/fsconf
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

PG_DEMO_URL ?= $(PG_TEST_URL)

.PHONY: install test test-sqlite test-postgres lint demo demo-cluster bench bench-quick bench-cluster sounds clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

# Style, types (fsconf/) and the layers contract (setup.cfg [importlinter], README "Architecture").
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy fsconf
	$(VENV)/bin/lint-imports

# The whole suite on the embedded default (SQLite), then again on PostgreSQL only the tests
# that touch a database (marked `db` by tests/conftest.py). Exit code 5 ("no tests
# selected") is fine: PYTEST_ARGS may narrow a pass to nothing.
PYTEST := $(PY) -m pytest -q -p no:cacheprovider
PASS_OK := rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ] || exit $$rc

# The two passes run side by side (one per core), each one's output printed whole when it ends.
test: lint
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: $(STAMP)
	FSCONF_TEST_DATABASE_URL= $(PYTEST) $(PYTEST_ARGS); $(PASS_OK)

test-postgres: $(STAMP)
	$(PY) tests/require_postgres.py "$(PG_TEST_URL)"
	FSCONF_TEST_DATABASE_URL="$(PG_TEST_URL)" $(PYTEST) -m db $(PYTEST_ARGS); $(PASS_OK)

demo: $(STAMP)
	$(FSCONF) demo

# Two simulated nodes, one meeting; PostgreSQL (a throwaway schema in PG_DEMO_URL).
demo-cluster: $(STAMP)
	$(FSCONF) demo --nodes 2 --database-url "$(PG_DEMO_URL)"

# Stand-in prompts (espeak-ng + sox from Debian's packages) in FreeSWITCH's sound layout.
sounds: $(STAMP)
	$(PY) -m fsconf.sounds.generate --out build/sounds

# Capacity and latency, controller and simulator as separate processes; JSON in bench/results/.
# Then the cluster section on PostgreSQL (PG_TEST_URL; skipped, saying why, when unreachable).
bench: $(STAMP)
	$(PY) -m bench.run --mode full --cluster-database "$(PG_TEST_URL)"

# The harness's own smoke tests (tiny mode) first, the cluster one where PostgreSQL is
# reachable, then the quick measurement.
bench-quick: $(STAMP)
	$(PYTEST) tests/bench
	@if $(PY) tests/require_postgres.py "$(PG_TEST_URL)" 2>/dev/null; then \
		FSCONF_TEST_DATABASE_URL="$(PG_TEST_URL)" $(PYTEST) -m db tests/bench; \
	else echo "bench-quick: PostgreSQL not reachable at PG_TEST_URL: cluster smoke test not run"; fi
	$(PY) -m bench.run --mode quick --cluster-database "$(PG_TEST_URL)"

# The cluster section alone (several simulated nodes, a controller each, PostgreSQL).
bench-cluster: $(STAMP)
	$(PY) -m bench.run --mode cluster --cluster-database "$(PG_TEST_URL)"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
