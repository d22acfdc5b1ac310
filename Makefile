# The two entry points of the README: `make demo` and `make test`.
# Both bootstrap everything they need: uv (if it is not on PATH) and the
# locked dependencies into .venv, with the CLI at .venv/bin/envwake.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
ENVWAKE := $(VENV)/bin/envwake
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Precompile bytecode at install: with PYTHONDONTWRITEBYTECODE set (as on some
# machines) every run would otherwise recompile every dependency (~0.6 s per command).
export UV_COMPILE_BYTECODE := 1

# The envtest tier: kube-apiserver and etcd built from their Go modules (tests/envtest/),
# kept outside the repository; KUBEBUILDER_ASSETS, when set, is used as it is.
ENVTEST_VERSIONS := k8s-1.34.4-etcd-3.6.4
ENVTEST_DIR := $(HOME)/.cache/envwake/envtest/$(ENVTEST_VERSIONS)
export KUBEBUILDER_ASSETS ?= $(ENVTEST_DIR)

# The cluster tier: kube-controller-manager, kube-scheduler, kwok, Flux and KEDA built
# from the modules pinned in tests/cluster/modules/ (and tests/envtest/). The folder is
# named by the pins, so a changed pin builds afresh; ENVWAKE_CLUSTER_ASSETS, when set,
# is used as it is.
CLUSTER_PINS := $(shell cat tests/envtest/go.sum tests/cluster/modules/*/go.sum tests/cluster/modules/*/go.mod tests/cluster/modules/keda/cronoracle/*.go tests/cluster/build.sh | sha256sum | cut -c1-12)
CLUSTER_DIR := $(HOME)/.cache/envwake/cluster/k8s-1.34.4-kwok-0.8.0-flux-1.9.6-keda-2.21.0-$(CLUSTER_PINS)
export ENVWAKE_CLUSTER_ASSETS ?= $(CLUSTER_DIR)

.PHONY: help demo test lint typecheck unit bench soak e2e envtest-assets cluster-assets clean

help:
	@echo "make demo   run the envwake demo on the local stack"
	@echo "make test   lint, type-check and run the whole test suite"
	@echo "make bench  run the benchmarks (prints comparisons, asserts nothing)"
	@echo "make soak   a month of nights in a living world (benchmarks/soak.py; DAYS=30)"
	@echo "make e2e    the kind + Flux end-to-end test (needs Docker, kind, kubectl)"
	@echo "make envtest-assets  build kube-apiserver and etcd for the real-API-server tests"
	@echo "make cluster-assets  build the controllers, Flux and KEDA for the real-cluster tests"

$(CURDIR)/.tools/bin/uv:
	@echo "uv not found on PATH; installing uv $(UV_VERSION) into .tools/"
	@# A venv when the interpreter can make one with pip; else pip's --target (Debian
	@# ships python3 without ensurepip unless python3-venv is installed).
	if $(PYTHON) -m venv $(CURDIR)/.tools 2>/dev/null; then \
	  $(CURDIR)/.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"; \
	else \
	  rm -rf $(CURDIR)/.tools; \
	  $(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(CURDIR)/.tools/lib "uv==$(UV_VERSION)"; \
	  mkdir -p $(CURDIR)/.tools/bin; ln -sf $(CURDIR)/.tools/lib/bin/uv $(CURDIR)/.tools/bin/uv; \
	fi

$(ENVWAKE): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet
	@touch $(ENVWAKE)

demo: $(ENVWAKE)
	$(ENVWAKE) demo $(DEMO_ARGS)

lint: $(ENVWAKE)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(ENVWAKE)
	$(VENV)/bin/mypy

# The suite runs on every core up to four (pytest-xdist; each worker starts its own
# envtest API server). The cluster tier (tests/cluster) runs beside it in a pytest
# process of its own: its tests share one real cluster and mostly wait on it in real
# time, so they overlap the rest instead of following it. Its report comes last.
# PYTEST_WORKERS=0 runs everything in one process, for debugging.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(min(4, os.cpu_count() or 1))')

unit: $(ENVWAKE) envtest-assets cluster-assets
	@if [ "$(PYTEST_WORKERS)" = "0" ]; then \
	  $(VENV)/bin/pytest $(PYTEST_ARGS); \
	else \
	  log="$$(mktemp "$${TMPDIR:-/tmp}/envwake-cluster-tier.XXXXXX")"; \
	  $(VENV)/bin/pytest -p no:cacheprovider tests/cluster $(PYTEST_ARGS) >"$$log" 2>&1 & tier=$$!; \
	  status=0; \
	  $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist worksteal --ignore=tests/cluster $(PYTEST_ARGS) || status=$$?; \
	  wait $$tier || status=$$?; \
	  echo "--- the cluster tier (tests/cluster), run beside the rest:"; cat "$$log"; rm -f "$$log"; \
	  exit $$status; \
	fi

envtest-assets:
	@if [ -x "$(KUBEBUILDER_ASSETS)/kube-apiserver" ] && [ -x "$(KUBEBUILDER_ASSETS)/etcd" ]; then \
	  echo "envtest: kube-apiserver and etcd in $(KUBEBUILDER_ASSETS)"; \
	elif [ "$(KUBEBUILDER_ASSETS)" != "$(ENVTEST_DIR)" ]; then \
	  echo "envtest: KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) has no kube-apiserver and etcd; the tier will say so"; \
	elif command -v go >/dev/null 2>&1; then \
	  echo "envtest: building kube-apiserver and etcd ($(ENVTEST_VERSIONS)) into $(ENVTEST_DIR); the first build takes minutes"; \
	  mkdir -p "$(ENVTEST_DIR)"; \
	  cd tests/envtest && go build -trimpath -o "$(ENVTEST_DIR)/.kube-apiserver.part" k8s.io/kubernetes/cmd/kube-apiserver \
	    && go build -trimpath -o "$(ENVTEST_DIR)/.etcd.part" ./etcd \
	    && mv "$(ENVTEST_DIR)/.kube-apiserver.part" "$(ENVTEST_DIR)/kube-apiserver" \
	    && mv "$(ENVTEST_DIR)/.etcd.part" "$(ENVTEST_DIR)/etcd"; \
	else \
	  echo "envtest: Go not found; the tests on a real API server will be skipped"; \
	fi

cluster-assets: envtest-assets
	@if [ -d "$(ENVWAKE_CLUSTER_ASSETS)/manifests" ]; then \
	  echo "cluster: controllers, Flux and KEDA in $(ENVWAKE_CLUSTER_ASSETS)"; \
	elif [ "$(ENVWAKE_CLUSTER_ASSETS)" != "$(CLUSTER_DIR)" ]; then \
	  echo "cluster: ENVWAKE_CLUSTER_ASSETS=$(ENVWAKE_CLUSTER_ASSETS) is incomplete; the tier will say so"; \
	elif command -v go >/dev/null 2>&1; then \
	  echo "cluster: building the cluster tier into $(CLUSTER_DIR); the first build takes about 20 minutes"; \
	  tests/cluster/build.sh "$(CLUSTER_DIR)"; \
	else \
	  echo "cluster: Go not found; the tests on a real cluster will be skipped"; \
	fi

test: lint typecheck unit

# Builds the image and a kind cluster with Flux and KEDA (needs Docker, kind, kubectl and
# network access); `make test` skips it and says why.
e2e: $(ENVWAKE)
	ENVWAKE_E2E=1 $(VENV)/bin/pytest -m e2e tests/e2e -v

bench: $(ENVWAKE)
	$(VENV)/bin/python benchmarks/manifest_edit.py
	$(VENV)/bin/python benchmarks/gitops_clone.py

# A month on the local stack with envwake run killed now and then; prints its table and
# exits 1 on any miss (tests/soak runs a week of it in make test).
DAYS ?= 30
soak: $(ENVWAKE)
	$(VENV)/bin/python -m benchmarks.soak --days $(DAYS)

clean:
	rm -rf $(VENV) $(CURDIR)/.tools .pytest_cache .mypy_cache .ruff_cache .hypothesis
