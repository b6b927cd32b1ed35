# shellcheck shell=bash
# Pinned versions of the local control plane and where their binaries live.
# Sourced by hack/cluster-binaries.sh and hack/cluster.sh; every value can be
# overridden from the environment.
: "${NEAM_CACHE_DIR:=${HOME}/.cache/neam-operator}"
: "${KUBE_VERSION:=v1.36.3}"
: "${ETCD_VERSION:=v3.6.16}"
: "${KWOK_VERSION:=v0.8.0}"
KUBE_BIN_DIR="${NEAM_CACHE_DIR}/bin/kubernetes-${KUBE_VERSION}"
ETCD_BIN_DIR="${NEAM_CACHE_DIR}/bin/etcd-${ETCD_VERSION}"
KWOK_BIN_DIR="${NEAM_CACHE_DIR}/bin/kwok-${KWOK_VERSION}"
export NEAM_CACHE_DIR KUBE_VERSION ETCD_VERSION KWOK_VERSION
