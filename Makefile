# Thin targets over the d2k CLI. Run as root on a fresh Debian 12 machine, or with sudo.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export NO_MKDOCS_2_WARNING := 1

.PHONY: workshop test setup venv images docs lab up down clean bench

## workshop: install everything, bring the cluster up, open JupyterLab and the docs
workshop: up
	d2k workshop up

## test: install what the tests need (packages, images, a running cluster) and run the whole suite
test: up
	pytest

## setup: Debian packages, Python environment, Docker Engine running, Compose v2
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

## images: build the app images locally (no registry), cached
images: setup
	d2k images build

## up: images built, cluster running, images loaded into it; down: stop the cluster and servers
up: images
	d2k cluster up
	d2k images load

down:
	-d2k workshop down
	-d2k cluster down

## clean: stop everything and remove what the repository generated (caches stay)
clean: down
	rm -rf $(VENV) site test-artifacts .pytest_cache .ruff_cache

bench: setup
	python bench/run.py
