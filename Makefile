# Quickstart: `make demo` (emulate, clean, insights) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PIPELINE := $(VENV)/bin/pinterest-pipeline
export DAGSTER_HOME ?= $(CURDIR)/data/dagster

.PHONY: setup demo test test-fast test-ui dev wheel clean-data bench deploy-aws chromium

$(VENV)/.synced: pyproject.toml uv.lock Makefile
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet uv
	@UV=$$(command -v uv || echo $(HOME)/.local/bin/uv); $$UV sync --frozen --all-extras --compile-bytecode --python $(PYTHON)
	@touch $@

setup: $(VENV)/.synced  ## create .venv from uv.lock

demo: setup  ## emulate posts, run every asset, print the nine insights
	@mkdir -p $(DAGSTER_HOME)
	$(PIPELINE) demo

test: setup chromium  ## the whole test suite (unit + integration + browser)
	$(VENV)/bin/pytest

test-ui: setup chromium  ## the Dagster UI in headless Chromium; screenshots in data/ui-screenshots/
	$(VENV)/bin/pytest tests/ui -m ui

test-fast: setup  ## unit tests only
	$(VENV)/bin/pytest -m "not integration"

bench: setup  ## benchmarks (not part of make test): writes docs/benchmarks.md and .png
	$(VENV)/bin/python -m benchmarks.run $(BENCH_ARGS)

chromium:  ## Debian's chromium for the browser tests (apt-get, only when missing)
	@command -v chromium >/dev/null 2>&1 || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium; }

# `dagster dev` warns that `dg dev` supersedes it; dg (dagster-dg-cli) is not a dependency here.
DEV_QUIET := ignore:Function `dev_command` is superseded

dev: setup  ## the Dagster UI on http://127.0.0.1:3000
	@$(VENV)/bin/python -c "from pinterest_pipeline.runner import prepare_dagster_home as p; p()"
	PYTHONWARNINGS='$(DEV_QUIET)' $(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean-data:  ## remove ./data (landing, warehouse, Dagster runs, stack logs)
	rm -rf data

wheel: setup  ## build dist/pinterest_pipeline-*.whl for a Databricks cluster
	@UV=$$(command -v uv || echo $(HOME)/.local/bin/uv); $$UV build --wheel -o dist

PARAMS ?= infra/parameters.json
deploy-aws: setup  ## deploy the AWS stacks (never in CI): make deploy-aws PARAMS=my.json [DRY_RUN=1]
	$(VENV)/bin/python infra/deploy.py --params $(PARAMS) $(if $(DRY_RUN),--dry-run)
