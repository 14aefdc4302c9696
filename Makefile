# Thin targets over the d2k CLI. Run as root on a fresh Debian 12 machine, or with sudo.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: workshop test setup venv docs lab up down clean bench

## workshop: install everything, bring the cluster up, open JupyterLab and the docs
workshop: setup
	d2k workshop up

## test: install what the tests need and run the whole suite
test: setup
	pytest

## setup: Debian packages, Python environment, Docker Engine running
setup: venv
	d2k setup

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@python3 -c 'import ensurepip' 2>/dev/null || \
		(apt-get update -qq && apt-get install -y -qq python3-venv python3-pip)
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

## docs: build the docs site into site/ (strict: broken links fail)
docs: venv
	mkdocs build --strict

## lab: start JupyterLab on labs/ and the docs site (no cluster)
lab: venv
	d2k workshop up

## up / down: start or stop the cluster and the workshop servers
up: setup
	d2k workshop up

down:
	-d2k workshop down

## clean: stop everything and remove what the repository generated (caches stay)
clean: down
	rm -rf $(VENV) site test-artifacts .pytest_cache .ruff_cache

bench: setup
	python bench/run.py
