# Two commands for a fresh machine:  make run  |  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SNAKEMAKE_CONFIG_DIR ?= $(HOME)/.config/snakemake
CORES ?= all
SHELL := /bin/bash
# Jobs call `python -m stronglens.stages.<rule>`: the venv's python must come first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
.SHELLFLAGS := -o pipefail -c

.PHONY: setup run test lint dag bench clean profiles

setup: $(STAMP) profiles

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]' 2>&1 | { grep -v "is ignored" || true; }
	$(BIN)/python -c "import stronglens, torch, snakemake, lenstronomy" 
	touch $(STAMP)

# Link profiles/* into the user's Snakemake config dir so `--profile lambda`
# works by bare name; an existing profile of the same name is left alone.
profiles:
	@mkdir -p $(SNAKEMAKE_CONFIG_DIR)
	@for p in profiles/*/; do \
	  name=$$(basename $$p); [ "$$name" = default ] && continue; \
	  dest=$(SNAKEMAKE_CONFIG_DIR)/$$name; \
	  if [ -L $$dest ] && [ "$$(readlink $$dest)" = "$(CURDIR)/profiles/$$name" ]; then :; \
	  elif [ -e $$dest ] || [ -L $$dest ]; then echo "profile $$dest exists and is not ours: left alone (use --profile profiles/$$name)"; \
	  else ln -s $(CURDIR)/profiles/$$name $$dest && echo "linked $$dest -> profiles/$$name"; fi; \
	done

run: setup
	$(BIN)/snakemake --cores $(CORES) all

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/snakemake --lint

dag: setup
	$(BIN)/snakemake --rulegraph all | dot -Tsvg > results/rulegraph.svg

bench: setup
	$(BIN)/python benchmarks/bench_injection.py

clean:
	rm -rf results .snakemake
