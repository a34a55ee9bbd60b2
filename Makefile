# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Both create the virtual environment and install the project the first time.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FSCONF := $(VENV)/bin/fsconf
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-installed-stamp
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install test test-sqlite test-postgres lint demo bench bench-quick sounds clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# The whole suite on the embedded default (SQLite), then again on PostgreSQL.
test: lint test-sqlite test-postgres

test-sqlite: $(STAMP)
	FSCONF_TEST_DATABASE_URL= $(PY) -m pytest -q $(PYTEST_ARGS)

test-postgres: $(STAMP)
	$(PY) tests/require_postgres.py "$(PG_TEST_URL)"
	FSCONF_TEST_DATABASE_URL="$(PG_TEST_URL)" $(PY) -m pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	$(FSCONF) demo

# Stand-in prompts (espeak-ng + sox from Debian's packages) in FreeSWITCH's sound layout.
sounds: $(STAMP)
	$(PY) -m fsconf.sounds.generate --out build/sounds

# The benchmark's peers (the `bench` extra: genesis, uvloop) on top of the usual install.
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

# Capacity and latency, controller and simulator as separate processes; JSON in bench/results/.
bench: $(BENCH_STAMP)
	$(PY) -m bench.run --mode full

bench-quick: $(BENCH_STAMP)
	$(PY) -m bench.run --mode quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
