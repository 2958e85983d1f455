# ProDev Hub: `make run` serves the demo site, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# The newest interpreter >= 3.12 we can run (Django 6.1 needs 3.12 or later).
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    command -v $$p; break; fi; done)

.PHONY: help venv run test test-shifted lint format migrate seed check-deploy clean backup restore \
	check-runtime checks-doctor

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON)" ]; then \
	  echo "ProDev Hub needs Python 3.12 or newer (3.13 preferred); none was found on PATH." >&2; \
	  echo "Install Python 3.13 (or 3.12) and run make again." >&2; exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then rm -rf $(VENV); fi
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed  ## create .venv and install the pinned dependencies

migrate: venv  ## apply database migrations
	$(PY) manage.py migrate --noinput

seed: migrate  ## load the demo program (idempotent)
	$(PY) manage.py seed_demo

# The check runtime lets "Check my code" run where bubblewrap can; without it (or without
# network for pip) the demo still serves, showing its recorded runs: hence the leading "-".
run: seed  ## serve the demo site on http://127.0.0.1:8000 (SQLite, no configuration)
	-$(PY) manage.py build_check_runtime
	$(PY) manage.py runserver 127.0.0.1:8000

lint: venv  ## ruff lint and format check, then mypy (strict on core/ and site_config/)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: venv  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint  ## lint, then the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(VENV)/bin/pytest $(PYTEST_ARGS)

# A year ahead on the wall clock, so a test that hides a calendar date fails here, not for
# users. SQLite and no browser: the dates matter, not the services (so CI's demand that the
# PostgreSQL and browser tests run is lifted; the sandbox tests still must). faketime's monotonic
# clock is shifted too (time.sleep fails when only the wall clock is).
SHIFT ?= +365d
test-shifted: venv  ## the suite again with the clock shifted a year ahead (needs faketime)
	@command -v faketime >/dev/null || { echo "test-shifted needs faketime (apt-get install faketime)" >&2; exit 1; }
	env -u DATABASE_URL -u REDIS_URL -u CI -u REQUIRE_BROWSER_TESTS DJANGO_ALLOW_ASYNC_UNSAFE=true \
	  faketime -f "$(SHIFT)" $(VENV)/bin/pytest --ignore=tests/e2e -p no:cacheprovider -q $(PYTEST_ARGS)

check-runtime: venv  ## build the interpreter + packages that check suites run with (core/checks)
	$(PY) manage.py build_check_runtime

checks-doctor: check-runtime  ## can this machine run learner code safely? (bubblewrap + self-test)
	$(PY) manage.py checks_doctor

check-deploy: venv  ## Django's deployment checks with production-like settings
	DEBUG=false SECRET_KEY=$$(head -c 48 /dev/urandom | base64) ALLOWED_HOSTS=prodev.example \
	  REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(PY) manage.py check --deploy --fail-level WARNING

# Backups (docs/operations.md): no `venv` prerequisite, so a restore never waits on pip.
backup:  ## pg_dump DATABASE_URL + tar MEDIA_ROOT into backups/<UTC time>/ (BACKUP_DIR=…)
	$(PY) ops/backups.py create

restore:  ## restore FILE=backups/<time> into DATABASE_URL and MEDIA_ROOT (FORCE=1 overwrites)
	@if [ -z "$(FILE)" ]; then echo "Name the backup: make restore FILE=backups/<time>" >&2; exit 2; fi
	$(PY) ops/backups.py restore "$(FILE)" $(if $(filter 1 true yes,$(FORCE)),--force)

clean:  ## remove the virtual environment and local data
	rm -rf $(VENV) var/db.sqlite3 staticfiles .pytest_cache .ruff_cache

.PHONY: bench
bench: venv  ## load-test gunicorn on the large data set (PostgreSQL + Redis; see docs/benchmarks.md)
	$(PY) bench/run.py

.PHONY: bench-markdown
bench-markdown: venv  ## time hostile Markdown through the renderer; fails past 50 ms (docs/benchmarks.md)
	$(PY) bench/markdown_bound.py $(BENCH_ARGS)

.PHONY: bench-enrolment
bench-enrolment: venv  ## time enrolment by CSV at 1,000 rows: preview, apply, invitations (PostgreSQL)
	$(PY) bench/enrolment_csv.py $(BENCH_ARGS)

.PHONY: bench-checks
bench-checks: check-runtime  ## the sandbox's overhead over bare pytest, then a deadline rush on PostgreSQL with 2 and 1 workers
	$(PY) bench/checks_overhead.py
	$(PY) bench/checks_rush.py $(BENCH_ARGS)
