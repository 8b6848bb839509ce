# PromptGen: `make run` serves the app, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
BUN_BIN := $(CURDIR)/$(TOOLS)/node_modules/.bin
PORT ?= 3000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Reflex builds its frontend with bun. Its installer downloads bun from the internet,
# so we install bun from the npm registry and tell Reflex to use it.
export PATH := $(BUN_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_CHECK_LATEST_VERSION := 0
export PORT

.PHONY: install run test test-unit test-fast test-deps lint typecheck format bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(BUN_BIN)/bun:
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error bun@1
	$(BUN_BIN)/bun --version >/dev/null

# axe-core (the accessibility checker the browser tests run on every page), from the npm
# registry like bun: tests read its minified script from here; nothing is fetched from a CDN.
AXE := $(TOOLS)/node_modules/axe-core/axe.min.js
$(AXE):
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error axe-core@4.10
	test -s $@

install: $(VENV)/.installed $(BUN_BIN)/bun $(AXE)

run: install
	$(PY) -m promptgen migrate
	$(PY) -m promptgen seed
	$(VENV)/bin/reflex run --env prod --frontend-port $(PORT) --backend-port $(PORT)

# Browser tests need Debian's chromium; with no TEST_DATABASE_URL the tests start their own
# PostgreSQL cluster from Debian's binaries, and the multi-worker tests their own redis-server.
test-deps: install
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -z "$$TEST_DATABASE_URL" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		missing="$$missing postgresql"; fi; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: install typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy over promptgen/ as [tool.mypy] in pyproject.toml configures it.
typecheck: install
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: test-deps lint
	$(PY) -m pytest

# Pure tests only: no database, no server, seconds.
test-unit: install
	$(PY) -m pytest -q tests/unit

# Unit tests, the fakes' own tests and the integration tests on SQLite; nothing that needs
# PostgreSQL or a browser. `make test` stays the gate.
test-fast: install
	$(PY) -m pytest -q --sqlite-only tests/unit tests/support tests/integration

bench: install
	$(PY) -m bench

clean:
	rm -rf .web .states $(VENV) $(TOOLS) data
