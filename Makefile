# ProDev Hub: `make run` serves the demo site, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# The newest interpreter >= 3.12 we can run (Django 6.1 needs 3.12 or later).
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    command -v $$p; break; fi; done)

.PHONY: help venv run test lint format migrate seed check-deploy clean backup restore

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

run: seed  ## serve the demo site on http://127.0.0.1:8000 (SQLite, no configuration)
	$(PY) manage.py runserver 127.0.0.1:8000

lint: venv  ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint  ## lint, then the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(VENV)/bin/pytest $(PYTEST_ARGS)

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
