# Two commands on a fresh machine: `make run` and `make test`. Every install step lives here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
GRAPHQL_SCHEMA_VERSION := 15.26.1
GRAPHQL_SCHEMA := build/graphql-schema/node_modules/@octokit/graphql-schema/schema.graphql
AXE_CORE_VERSION := 4.14.1
AXE_CORE := build/axe-core/node_modules/axe-core/axe.min.js
export GITHUB_GRAPHQL_SCHEMA ?= $(CURDIR)/$(GRAPHQL_SCHEMA)

.PHONY: setup run test test-fast lint bench chromium clean

setup: $(VENV)/.installed $(GRAPHQL_SCHEMA) $(AXE_CORE)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# GitHub's public GraphQL schema, which the sandbox validates every query against (not committed).
$(GRAPHQL_SCHEMA):
	mkdir -p build/graphql-schema
	npm install --silent --no-save --no-audit --no-fund --prefix build/graphql-schema \
		@octokit/graphql-schema@$(GRAPHQL_SCHEMA_VERSION)
	test -f $@

# axe-core, the accessibility checker the browser tests inject into every page (not committed).
$(AXE_CORE):
	mkdir -p build/axe-core
	npm install --silent --no-save --no-audit --no-fund --prefix build/axe-core \
		axe-core@$(AXE_CORE_VERSION)
	test -f $@

# Debian's Chromium for the browser tests (never `playwright install`).
# apt waits for a lock another apt holds (up to two minutes a try, ten tries).
APT := apt-get -o DPkg::Lock::Timeout=120
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		for attempt in 1 2 3 4 5 6 7 8 9 10; do \
			$(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq chromium \
				&& break; \
			echo "apt failed or is busy (try $$attempt of 10): again in 15 s"; sleep 15; \
		done; \
		command -v chromium >/dev/null 2>&1 \
			|| echo "chromium could not be installed: browser tests will skip (fail under CI)"; }

run: setup
	$(BIN)/python -m launcher

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared gateway fetcher uploader scheduler sandbox launcher

test: setup chromium lint
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not e2e and not browser"

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache var
