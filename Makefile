# OrderGuard: `make run` (set up, demo data, serve on 127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(PYTHON) -m uv
UV_VERSION := 0.13.9
PG_URL ?= postgres://postgres@127.0.0.1:5432/orderguard
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

ASSETS := static_build

.PHONY: setup assets run demo serve worker test test-sqlite test-postgres lint browser gettext-tools bench soak clean

setup: $(VENV)/.synced $(ASSETS)/.built

assets: $(ASSETS)/.built

$(VENV)/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

# Bootstrap and ECharts from the npm registry at the versions package-lock.json pins; only the
# files the pages use are copied to $(ASSETS) (served by whitenoise, never from a CDN).
$(ASSETS)/.built: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)/vendor/bootstrap $(ASSETS)/vendor/echarts
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js \
	   node_modules/bootstrap/LICENSE $(ASSETS)/vendor/bootstrap/
	cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE $(ASSETS)/vendor/echarts/
	@touch $@

run: setup
	$(BIN)/orderguard setup
	$(BIN)/orderguard demo
	$(BIN)/orderguard serve --host 127.0.0.1 --port 8000

demo: setup
	$(BIN)/orderguard setup
	$(BIN)/orderguard demo

serve: setup
	$(BIN)/orderguard serve

worker: setup
	$(BIN)/orderguard worker

# Debian's chromium for the browser tests (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's gettext: xgettext for the test that every message has its en and zh-Hant translation.
gettext-tools:
	@command -v xgettext >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; }

lint: setup
	$(BIN)/ruff check src
	$(BIN)/ruff format --check src
	$(BIN)/mypy src/orderguard

test-sqlite: setup browser gettext-tools
	env -u DATABASE_URL $(BIN)/pytest -q

test-postgres: setup browser gettext-tools
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -q

test: lint test-sqlite test-postgres

# e.g. `make bench BENCH_ARGS="--orders 0 --cases 100000"` (see README, Benchmark)
bench: setup
	$(BIN)/python -m orderguard.bench $(BENCH_ARGS)

# The outbox's SIGKILL soak: 10,000 messages, a dispatcher killed 20 times, on a fresh PostgreSQL
# database (OG_SOAK_PG, OG_SOAK_DB); about 3 to 5 minutes on two cores. See README, Notifications.
soak: setup
	env -u DATABASE_URL $(BIN)/python -m orderguard.notifications.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var node_modules $(ASSETS)
