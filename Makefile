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

.PHONY: setup sysdeps run matrix report test lint audit audit-files dag docs bench clean profiles

setup: $(STAMP) profiles

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]' 2>&1 | { grep -v "is ignored" || true; }
	$(BIN)/python -c "import stronglens, torch, snakemake, lenstronomy, caustics, tqdm" 
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

# System tools the tests drive: headless Chromium (report test), SLURM + munge
# (cluster test), graphviz (audit). Installed with apt-get when missing (root).
SYSDEPS := chromium:chromium dot:graphviz slurmctld:slurm-wlm munged:munge g++:g++
sysdeps:
	@missing=""; for pair in $(SYSDEPS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  PATH=$$PATH:/usr/sbin command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages:$$missing (run: sudo apt-get install$$missing)" >&2; exit 1; fi; fi

run: setup
	$(BIN)/snakemake --cores $(CORES) all
	$(BIN)/snakemake --report results/report.html
	@echo "report: results/report.html"

# The whole experiment matrix (ablations, replicates, fine-tune, ensemble): config/matrix.yaml over the default.
matrix: setup
	$(BIN)/snakemake --cores $(CORES) all --configfile config/config.yaml config/matrix.yaml
	$(BIN)/snakemake --configfile config/config.yaml config/matrix.yaml --report results/report.html
	@echo "report: results/report.html"

report: setup
	$(BIN)/snakemake --report results/report.html

test: setup sysdeps
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/snakemake --lint

# Audit record: config snapshot, versions, commit (pipeline_info rule), the rule
# graph and the job DAG as graphviz SVG and mermaid, in results/pipeline_info/.
# Another config: make audit SMK_ARGS="--configfile my.yaml" (its results_dir must stay results).
INFO := results/pipeline_info
SMK_ARGS ?=
audit: setup
	@$(MAKE) --no-print-directory audit-files

audit-files:
	@mkdir -p $(INFO)
	$(BIN)/snakemake --cores 1 $(SMK_ARGS) --forcerun pipeline_info -- $(INFO)/config.yaml
	$(BIN)/snakemake $(SMK_ARGS) --rulegraph dot > $(INFO)/rulegraph.dot
	$(BIN)/snakemake $(SMK_ARGS) --rulegraph mermaid-js > $(INFO)/rulegraph.mmd
	$(BIN)/snakemake $(SMK_ARGS) --dag dot > $(INFO)/dag.dot
	$(BIN)/snakemake $(SMK_ARGS) --dag mermaid-js > $(INFO)/dag.mmd
	@if command -v dot >/dev/null; then \
	  dot -Tsvg $(INFO)/rulegraph.dot > $(INFO)/rulegraph.svg && dot -Tsvg $(INFO)/dag.dot > $(INFO)/dag.svg; \
	  echo "audit: $(INFO)/{rulegraph,dag}.{svg,mmd}, config.yaml, software.json"; \
	else echo "graphviz 'dot' not found: wrote .dot and .mmd only (apt-get install graphviz for SVG)"; fi

dag: audit

docs: setup
	$(BIN)/python -m stronglens.config.schema_docs > docs/configuration.md

bench: setup
	$(BIN)/python benchmarks/bench_injection.py

clean:
	rm -rf results .snakemake
