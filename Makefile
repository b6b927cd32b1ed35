# neam-operator — common tasks. Run `make help` for a list.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Cluster binaries and state live outside the repository.
export NEAM_CACHE_DIR ?= $(HOME)/.cache/neam-operator

.PHONY: help install demo test test-unit test-cluster lint fmt bench crds \
        cluster-binaries cluster-up cluster-down cluster-env clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the dependencies change (the install is editable).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## create .venv and install the project with dev tools

demo: install ## the main job: check, compile and run the example programs
	bash hack/demo.sh

test: install cluster-binaries ## all test tiers that run on this machine (unit + cluster)
	$(BIN)/pytest -q tests/unit tests/cluster

test-unit: install ## unit tier only (no cluster)
	$(BIN)/pytest -q tests/unit

test-cluster: install cluster-binaries ## cluster tier only (real control plane)
	$(BIN)/pytest -q tests/cluster

lint: install ## ruff check + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install cluster-binaries ## run the benchmarks (results go to docs/benchmarks.md by hand)
	$(BIN)/python -m bench

crds: install ## regenerate crds/ from the pydantic models
	$(BIN)/python -m neam_operator.crdgen crds/

cluster-binaries: ## build kube-apiserver, etcd, kwok, ... into $(NEAM_CACHE_DIR) (idempotent)
	bash hack/cluster-binaries.sh

cluster-up: cluster-binaries ## start the local KWOK control plane
	bash hack/cluster.sh up

cluster-down: ## stop and delete the local control plane
	bash hack/cluster.sh down

cluster-env: ## print export lines for KUBECONFIG and PATH (eval "$$(make -s cluster-env)")
	@bash hack/cluster.sh env

clean: ## remove build artefacts (not the cluster cache)
	rm -rf build dist .pytest_cache .ruff_cache .hypothesis
