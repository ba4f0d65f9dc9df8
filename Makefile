# Hospital Queue — developer tasks. GNU make; run `make` (or `make help`) for the list.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# ---- tools -------------------------------------------------------------------------------------
PYTHON ?= python3.11
NPM    ?= npm
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
FLASK  := $(VENV)/bin/flask
PYTEST := $(PY) -m pytest
RUFF   := $(VENV)/bin/ruff
MYPY   := $(VENV)/bin/mypy

# ---- settings ----------------------------------------------------------------------------------
HOST        ?= 127.0.0.1
PORT        ?= 5000
PYTEST_ARGS ?=
CHROMIUM    ?= /usr/bin/chromium

# ---- stamps ------------------------------------------------------------------------------------
# Two stamps: running needs requirements.txt only; the test and lint tools come on top.
VENV_STAMP     := $(VENV)/.requirements-run
VENV_DEV_STAMP := $(VENV)/.requirements-dev
NODE_STAMP := node_modules/.npm-ci-done
SEED_STAMP := instance/.demo-seeded

VENDOR_DIR   := static/vendor
VENDOR_FILES := $(VENDOR_DIR)/htmx.min.js $(VENDOR_DIR)/pico.min.css $(VENDOR_DIR)/chart.umd.min.js \
                $(VENDOR_DIR)/chartjs-chart-matrix.min.js

.PHONY: help venv venv-dev vendor db seed run screenshots test test-e2e test-fast lint format \
        clean clean-data bench

help: ## List the targets
	@echo "Hospital Queue — make targets:"
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "} {printf "  %-11s %s\n", $$1, $$2}'
	@echo
	@echo "Variables: PYTEST_ARGS='-k queue -x' (make test, test-e2e, test-fast), HOST/PORT (make run), PYTHON=$(PYTHON)"
	@echo "           BENCH_ARGS='--tickets 20000 --duration 60' (make bench; .venv/bin/python bench/run.py --help)"

# ---- Python environment ------------------------------------------------------------------------
venv: $(VENV_STAMP) ## Create .venv (python3.11) with what running needs: requirements.txt

venv-dev: $(VENV_DEV_STAMP) ## Add the test and lint tools (requirements-dev.txt) to .venv

$(VENV)/pyvenv.cfg:
	$(PYTHON) -m venv $(VENV)

# Each stamp is remade only when its requirements file changed (or the one below it was redone).
$(VENV_STAMP): requirements.txt | $(VENV)/pyvenv.cfg
	$(PIP) install --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV_DEV_STAMP): requirements-dev.txt $(VENV_STAMP)
	$(PIP) install --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# ---- front-end assets (npm → static/vendor/, git-ignored) --------------------------------------
vendor: $(VENDOR_FILES) ## Install npm packages (npm ci, only when the lock changed) into static/vendor/

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

$(VENDOR_DIR)/htmx.min.js: $(NODE_STAMP)
	@mkdir -p $(@D)
	cp node_modules/htmx.org/dist/htmx.min.js $@

$(VENDOR_DIR)/pico.min.css: $(NODE_STAMP)
	@mkdir -p $(@D)
	cp node_modules/@picocss/pico/css/pico.min.css $@

$(VENDOR_DIR)/chart.umd.min.js: $(NODE_STAMP)
	@mkdir -p $(@D)
	cp node_modules/chart.js/dist/chart.umd.min.js $@

$(VENDOR_DIR)/chartjs-chart-matrix.min.js: $(NODE_STAMP)
	@mkdir -p $(@D)
	cp node_modules/chartjs-chart-matrix/dist/chartjs-chart-matrix.min.js $@

# ---- database ----------------------------------------------------------------------------------
# DATABASE_URL is passed through from the environment (default: SQLite file under instance/).
db: venv ## Apply migrations (flask db upgrade) to DATABASE_URL
	APP_ENV=development $(FLASK) --app wsgi db upgrade

seed: db ## Load demo data now (idempotent); `make run` does this by itself on its first run
	APP_ENV=development $(FLASK) --app wsgi seed-demo
	@mkdir -p $(dir $(SEED_STAMP))
	@$(call seed_key) > $(SEED_STAMP)

# The stamp records which database was seeded (a hash of DATABASE_URL, never the URL itself),
# so pointing DATABASE_URL somewhere new seeds that database on its first `make run` too.
seed_key = printf '%s\n' "$${DATABASE_URL:-default}" | sha256sum | cut -d' ' -f1

# ---- run ---------------------------------------------------------------------------------------
run: export APP_ENV := development
run: export FLASK_DEBUG := 0
run: venv vendor db ## Run the web server (http://127.0.0.1:5000) and the worker; Ctrl-C stops both
	@if [ "$$(cat $(SEED_STAMP) 2>/dev/null)" != "$$($(call seed_key))" ]; then \
	  echo "First run against this database: loading demo data (flask seed-demo)"; \
	  $(FLASK) --app wsgi seed-demo --no-logins; \
	  mkdir -p $(dir $(SEED_STAMP)); \
	  $(call seed_key) > $(SEED_STAMP); \
	fi
	FLASK=$(FLASK) HOST=$(HOST) PORT=$(PORT) bash scripts/run-dev.sh

# ---- screenshots -------------------------------------------------------------------------------
# scripts/screenshots.py serves the app on a temporary SQLite database with the demo data and
# photographs each screen in /usr/bin/chromium (loopback only). SCREENS_DIR=/tmp/x to look first.
SCREENS_DIR ?= docs/screens

screenshots: venv-dev vendor ## Save PNGs of every screen into docs/screens/ (SCREENS_DIR=... elsewhere)
	CHROMIUM=$(CHROMIUM) $(PY) scripts/screenshots.py --out $(SCREENS_DIR)

# ---- quality -----------------------------------------------------------------------------------
# PYTEST_EXIT_FILE (optional, used by .ci/run) receives pytest's own exit status.
test: venv-dev vendor ## Run the test suite (pass options with PYTEST_ARGS='...')
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "NOTE: $(CHROMIUM) not found: the browser tests (tests/e2e) will be SKIPPED." \
	       "Install it with: apt-get install -y chromium" >&2; \
	fi
	@status=0; $(PYTEST) $(PYTEST_ARGS) || status=$$?; \
	if [ -n "$${PYTEST_EXIT_FILE:-}" ]; then echo "$$status" > "$$PYTEST_EXIT_FILE"; fi; \
	if [ "$$status" -eq 5 ]; then \
	  echo "ERROR: pytest collected no tests (exit status 5)." >&2; \
	fi; \
	exit $$status

# The `e2e` marker is set on every test under tests/e2e (tests/e2e/conftest.py).
test-e2e: ## Run only the browser journeys (pytest -m e2e); PYTEST_ARGS adds options
	@$(MAKE) --no-print-directory test PYTEST_ARGS="-m e2e $(PYTEST_ARGS)"

test-fast: ## Run everything but the browser journeys (pytest -m "not e2e")
	@$(MAKE) --no-print-directory test PYTEST_ARGS="-m 'not e2e' $(PYTEST_ARGS)"

# The OpenAPI document is written by scripts/export-openapi.py (from the code, no services) and
# linted by Redocly CLI (npm, pinned in package.json) with redocly.yaml: Redocly's recommended rules.
REDOCLY := node_modules/.bin/redocly
OPENAPI_EXPORT := $(PY) scripts/export-openapi.py

lint: venv-dev $(NODE_STAMP) ## ruff check, ruff format --check, mypy, Redocly lint of the OpenAPI document
	@status=0; openapi_dir=$$(mktemp -d); trap 'rm -rf "$$openapi_dir"' EXIT; \
	echo "+ $(RUFF) check ."; $(RUFF) check . || status=1; \
	echo "+ $(RUFF) format --check ."; $(RUFF) format --check . || status=1; \
	echo "+ $(MYPY) webapp"; $(MYPY) webapp || status=1; \
	echo "+ $(OPENAPI_EXPORT) openapi.json && $(REDOCLY) lint --config redocly.yaml openapi.json"; \
	{ $(OPENAPI_EXPORT) "$$openapi_dir/openapi.json" && \
	  REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	  $(REDOCLY) lint --config redocly.yaml "$$openapi_dir/openapi.json"; } || status=1; \
	exit $$status

format: venv-dev ## Rewrite the code: ruff format, then ruff check --fix
	$(RUFF) format .
	$(RUFF) check --fix .

# ---- benchmark ---------------------------------------------------------------------------------
# bench/run.py loads a hospital into PostgreSQL (BENCH_DATABASE_URL, default database hq_bench on
# 127.0.0.1, created if missing; the history is kept for the next run), flushes a Redis database
# of its own (BENCH_REDIS_URL, default db 14), serves the app with gunicorn + the Huey consumer and
# measures it with wrk and locust. Results: bench/results/. docs/performance.md explains them.
BENCH_ARGS  ?=
BENCH_STAMP := $(VENV)/.requirements-bench

$(BENCH_STAMP): bench/requirements.txt $(VENV_STAMP)
	$(PIP) install --disable-pip-version-check -r bench/requirements.txt
	@touch $@

bench: $(BENCH_STAMP) ## Measure the app under load on PostgreSQL + Redis (1M tickets; BENCH_ARGS=...)
	@if ! command -v wrk >/dev/null; then \
	  echo "wrk is missing: installing it (apt-get install -y wrk)"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; \
	fi
	$(PY) bench/run.py $(BENCH_ARGS)

# ---- cleaning ----------------------------------------------------------------------------------
clean: ## Remove .venv, node_modules, static/vendor, caches and their stamps (keeps instance/)
	rm -rf $(VENV) node_modules $(VENDOR_DIR) .pytest_cache .mypy_cache .ruff_cache test-results
	find . -path ./node_modules -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

clean-data: ## Remove instance/ (local SQLite database, dev secret key, worker queue, seed stamp)
	rm -rf instance
