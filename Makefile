# neam-operator — common tasks. Run `make help` for a list.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Cluster binaries and state live outside the repository.
export NEAM_CACHE_DIR ?= $(HOME)/.cache/neam-operator

.PHONY: help install runtime-venv demo test test-deps test-unit test-cluster test-e2e mutate lint fmt bench crds \
        argocd-health cluster-binaries flux-binaries argo-binaries cluster-up cluster-down \
        cluster-env image \
        e2e-deps e2e-up e2e-down e2e-env clean

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

# The image's Python packages (see the Dockerfile): the runtime dependencies and the
# project, no dev extra. The dev extra holds the official `kubernetes` client (tests and
# benchmarks use it), which kopf imports whenever it is installed: the benchmarks run the
# operator here (NEAM_OPERATOR_PYTHON), so its memory is the image's.
RUNTIME_VENV := .venv-runtime
$(RUNTIME_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(RUNTIME_VENV)
	$(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' >$(RUNTIME_VENV)/requirements.txt
	$(RUNTIME_VENV)/bin/pip install -q -r $(RUNTIME_VENV)/requirements.txt
	$(RUNTIME_VENV)/bin/pip install -q --no-deps .
	touch $@

runtime-venv: $(RUNTIME_VENV)/.installed ## the image's Python packages only, in .venv-runtime

demo: install ## the main job: check, compile and run the example programs
	bash hack/demo.sh

test: install test-deps cluster-binaries ## all test tiers: unit, cluster, e2e (e2e: root on Linux only)
	$(BIN)/pytest -q tests/unit tests/cluster
	$(MAKE) --no-print-directory test-e2e

test-unit: install test-deps cluster-binaries ## unit tier only (no cluster; kubectl renders the Kustomize trees)
	$(BIN)/pytest -q tests/unit

test-cluster: install test-deps cluster-binaries ## cluster tier only (real control plane)
	$(BIN)/pytest -q tests/cluster

# Debian packages of the unit and cluster tiers: lua5.1 runs the Argo CD health checks
# (kustomize/argocd/health). Installed when missing and root; otherwise the tests that
# need it skip, unless NEAM_LUA_REQUIRED=1 (CI) makes that a failure.
test-deps: ## install lua5.1 (Debian) for the Argo CD health check tests, when root
	@command -v lua5.1 >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua5.1; \
	  else \
	    echo "lua5.1 missing (apt-get install lua5.1): the Argo CD health check tests will skip" >&2; \
	  fi; }

# The e2e tier changes the host (kubelet, containerd, mounts, cgroups): it runs as
# root on Linux and is skipped elsewhere, unless NEAM_E2E_REQUIRED=1 (CI) makes
# that a failure.
test-e2e: install ## e2e tier only: real pods on a real kubelet (tests/e2e)
	@if why="$$(bash hack/e2e.sh preflight)"; then \
	  $(MAKE) --no-print-directory cluster-binaries flux-binaries e2e-deps image && \
	    $(BIN)/pytest -q tests/e2e; \
	elif [ -n "$$NEAM_E2E_REQUIRED" ]; then \
	  echo "e2e tier cannot run: $$why (NEAM_E2E_REQUIRED is set)" >&2; exit 1; \
	else \
	  echo "e2e tier skipped: $$why"; \
	fi

# Slow (minutes per target) and CPU heavy, so not part of `make test`. One target at a
# time, niced; MUTATE_TARGETS picks some (status security auth budget), MUTATE_JOBS the
# number of mutmut workers (default 2).
mutate: install ## mutation testing (mutmut) of status mapping, security context, auth, budget
	$(BIN)/python hack/mutate.py $(MUTATE_TARGETS)

lint: install ## ruff check + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install runtime-venv cluster-binaries argo-binaries ## run the benchmarks (results go to docs/benchmarks.md by hand)
	NEAM_OPERATOR_PYTHON=$(RUNTIME_VENV)/bin/python $(BIN)/python -m bench

crds: install ## regenerate crds/ and manifests/policies.yaml from the pydantic models
	$(BIN)/python -m neam_operator.crdgen crds/
	$(BIN)/python -m neam_operator.policygen manifests/policies.yaml

argocd-health: ## embed kustomize/argocd/health/*.lua into kustomize/argocd/health/argocd-cm-health.yaml
	$(PYTHON) hack/argocd_health.py

cluster-binaries: ## build kube-apiserver, etcd, kwok, ... into $(NEAM_CACHE_DIR) (idempotent)
	bash hack/cluster-binaries.sh

flux-binaries: ## build Flux's source- and kustomize-controller into $(NEAM_CACHE_DIR) (e2e GitOps tests)
	bash hack/cluster-binaries.sh flux

argo-binaries: ## build Argo's workflow-controller, the operator benchmark's peer (idempotent)
	bash hack/argo-binaries.sh

cluster-up: cluster-binaries ## start the local KWOK control plane
	bash hack/cluster.sh up

cluster-down: ## stop and delete the local control plane
	bash hack/cluster.sh down

cluster-env: ## print export lines for KUBECONFIG and PATH (eval "$$(make -s cluster-env)")
	@bash hack/cluster.sh env

image: ## build the image neam-operator:dev with Docker (base made with debootstrap)
	bash hack/image.sh

e2e-deps: ## install the Debian packages the e2e cluster needs (root)
	bash hack/e2e.sh deps

e2e-up: install cluster-binaries e2e-deps image ## start the e2e cluster (real node) with the operator in it
	bash hack/e2e.sh up

e2e-down: ## stop the e2e cluster and restore the host
	bash hack/e2e.sh down

e2e-env: ## print export lines for the e2e cluster (eval "$$(make -s e2e-env)")
	@bash hack/e2e.sh env

clean: ## remove build artefacts (not the cluster cache)
	rm -rf build dist .pytest_cache .ruff_cache .hypothesis
