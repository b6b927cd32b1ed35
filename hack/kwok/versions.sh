# shellcheck shell=bash
# Pinned versions of the local control plane and where their binaries live.
# Sourced by hack/cluster-binaries.sh and hack/cluster.sh; every value can be
# overridden from the environment.
: "${NEAM_CACHE_DIR:=${HOME}/.cache/neam-operator}"
: "${KUBE_VERSION:=v1.36.3}"
: "${ETCD_VERSION:=v3.6.16}"
: "${KWOK_VERSION:=v0.8.0}"
# The e2e node (real pods): containerd 2.x with its runc shim, from Go modules.
: "${CONTAINERD_VERSION:=v2.3.7}"
# Flux's controllers for the GitOps e2e tests (tests/e2e/test_flux.py); v1.9.x is the
# newest line whose go.mod this machine's Go (1.26) accepts.
: "${FLUX_SOURCE_VERSION:=v1.9.0}"
: "${FLUX_KUSTOMIZE_VERSION:=v1.9.6}"
KUBE_BIN_DIR="${NEAM_CACHE_DIR}/bin/kubernetes-${KUBE_VERSION}"
ETCD_BIN_DIR="${NEAM_CACHE_DIR}/bin/etcd-${ETCD_VERSION}"
KWOK_BIN_DIR="${NEAM_CACHE_DIR}/bin/kwok-${KWOK_VERSION}"
CONTAINERD_BIN_DIR="${NEAM_CACHE_DIR}/bin/containerd-${CONTAINERD_VERSION}"
FLUX_SOURCE_BIN_DIR="${NEAM_CACHE_DIR}/bin/source-controller-${FLUX_SOURCE_VERSION}"
FLUX_KUSTOMIZE_BIN_DIR="${NEAM_CACHE_DIR}/bin/kustomize-controller-${FLUX_KUSTOMIZE_VERSION}"
# The pause binary is keyed by the hash of its source (hack/e2e/pause/main.go).
PAUSE_SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/e2e/pause/main.go"
PAUSE_BIN_DIR="${NEAM_CACHE_DIR}/bin/pause-$(sha256sum "${PAUSE_SOURCE}" | cut -c1-12)"
export NEAM_CACHE_DIR KUBE_VERSION ETCD_VERSION KWOK_VERSION CONTAINERD_VERSION \
  FLUX_SOURCE_VERSION FLUX_KUSTOMIZE_VERSION
