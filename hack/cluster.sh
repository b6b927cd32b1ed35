#!/usr/bin/env bash
# Start, stop and describe the local KWOK control plane (kwokctl --runtime binary).
#
#   hack/cluster.sh up     create the cluster (no-op if it is already healthy)
#   hack/cluster.sh down   delete the cluster and its processes
#   hack/cluster.sh env    print `export` lines for KUBECONFIG, KUBECACHEDIR and PATH
#
# Environment:
#   NEAM_CACHE_DIR      cache root holding the binaries (hack/cluster-binaries.sh)
#   NEAM_CLUSTER_NAME   cluster name (default neam-dev); each name is its own
#                       set of processes, ports and state directory
#   NEAM_CLUSTER_FAKE_NODE
#                       1 (default): add the KWOK fake node and the hostPath
#                       StorageClass; 0: neither (hack/e2e.sh adds a real node)
#   NEAM_CLUSTER_CREATE_ARGS
#                       extra `kwokctl create cluster` arguments, split on whitespace
#                       (the operator benchmark raises kube-controller-manager's
#                       client rate limits and turns on the audit log with them)
#
# Binaries, kubeconfig and state all live under $NEAM_CACHE_DIR; this script
# never touches ~/.kube (kwokctl gets --kubeconfig "", kubectl --kubeconfig and
# KUBECACHEDIR).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/kwok/versions.sh
source "${HERE}/kwok/versions.sh"

NAME="${NEAM_CLUSTER_NAME:-neam-dev}"
export KWOK_WORKDIR="${NEAM_CACHE_DIR}/kwok"
CLUSTER_DIR="${KWOK_WORKDIR}/clusters/${NAME}"
KUBECONFIG_PATH="${CLUSTER_DIR}/kubeconfig.yaml"
CONFIG_PATH="${KWOK_WORKDIR}/configs/${NAME}.yaml"
KWOKCTL="${KWOK_BIN_DIR}/kwokctl"
KUBECTL="${KUBE_BIN_DIR}/kubectl"
# kubectl's discovery/HTTP cache, instead of ~/.kube/cache.
export KUBECACHEDIR="${NEAM_CACHE_DIR}/kubectl-cache"
NODE_NAME=kwok-node-0
FAKE_NODE="${NEAM_CLUSTER_FAKE_NODE:-1}"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

kubectl_() { "${KUBECTL}" --kubeconfig "${KUBECONFIG_PATH}" "$@"; }

require_binaries() {
  local bin
  for bin in "${KWOKCTL}" "${KWOK_BIN_DIR}/kwok" "${ETCD_BIN_DIR}/etcd" "${KUBECTL}" \
    "${KUBE_BIN_DIR}/kube-apiserver" "${KUBE_BIN_DIR}/kube-controller-manager" \
    "${KUBE_BIN_DIR}/kube-scheduler"; do
    [[ -x "${bin}" ]] || die "missing ${bin}; run 'make cluster-binaries' first"
  done
}

# kwokctl delete refuses an empty --kubeconfig and removes its context from the
# file it is given; hand it the cluster's own kubeconfig, which it deletes anyway.
kwokctl_delete() {
  "${KWOKCTL}" --name "${NAME}" delete cluster --kubeconfig "${KUBECONFIG_PATH}"
}

healthy() {
  [[ -f "${KUBECONFIG_PATH}" ]] && kubectl_ get --raw /readyz >/dev/null 2>&1
}

render_config() {
  mkdir -p "$(dirname "${CONFIG_PATH}")"
  sed -e "s|@KUBE_VERSION@|${KUBE_VERSION}|g" \
    -e "s|@ETCD_VERSION@|${ETCD_VERSION#v}|g" \
    -e "s|@KWOK_VERSION@|${KWOK_VERSION}|g" \
    -e "s|@KUBE_BIN_DIR@|${KUBE_BIN_DIR}|g" \
    -e "s|@ETCD_BIN_DIR@|${ETCD_BIN_DIR}|g" \
    -e "s|@KWOK_BIN_DIR@|${KWOK_BIN_DIR}|g" \
    -e "s|@STATE_DIR@|${KWOK_WORKDIR}|g" \
    -e "s|@CLUSTER_DIR@|${CLUSTER_DIR}|g" \
    "${HERE}/kwok/kwokctl.yaml.in" >"${CONFIG_PATH}"
}

cmd_up() {
  require_binaries
  if healthy; then
    log "cluster ${NAME} is already up (kubeconfig ${KUBECONFIG_PATH})"
    return
  fi
  if [[ -d "${CLUSTER_DIR}" ]]; then
    log "removing stale cluster state ${CLUSTER_DIR}"
    cmd_down
  fi
  local start=${SECONDS} extra_args
  read -r -a extra_args <<<"${NEAM_CLUSTER_CREATE_ARGS:-}"
  render_config
  log "creating cluster ${NAME} (kwokctl ${KWOK_VERSION}, kubernetes ${KUBE_VERSION}, etcd ${ETCD_VERSION})"
  if ! "${KWOKCTL}" --name "${NAME}" create cluster --runtime binary \
    --config "${CONFIG_PATH}" --kubeconfig "" --wait 3m "${extra_args[@]}"; then
    log "kwokctl create failed; component logs are in ${CLUSTER_DIR}/logs"
    kwokctl_delete >/dev/null 2>&1 || true
    exit 1
  fi
  if [[ "${FAKE_NODE}" == 1 ]]; then
    kubectl_ apply -f "${HERE}/kwok/node.yaml" -f "${HERE}/kwok/storageclass.yaml" >/dev/null
    kubectl_ wait --for=condition=Ready "node/${NODE_NAME}" --timeout=120s >/dev/null
  fi
  # Pods can only be admitted once the controller-manager created the
  # namespace's default ServiceAccount.
  local i
  for ((i = 0; i < 120; i++)); do
    kubectl_ get serviceaccount default -n default >/dev/null 2>&1 && break
    sleep 0.5
  done
  log "cluster ${NAME} up in $((SECONDS - start))s; kubeconfig ${KUBECONFIG_PATH}"
}

cmd_down() {
  if [[ ! -d "${CLUSTER_DIR}" ]]; then
    log "cluster ${NAME} does not exist"
    rm -f "${CONFIG_PATH}"
    return
  fi
  [[ -x "${KWOKCTL}" ]] || die "missing ${KWOKCTL}; cannot stop cluster ${NAME}"
  kwokctl_delete >&2
  rm -f "${CONFIG_PATH}"
  log "cluster ${NAME} deleted"
}

cmd_env() {
  [[ -f "${KUBECONFIG_PATH}" ]] || die "cluster ${NAME} is not up; run 'make cluster-up'"
  printf 'export KUBECONFIG=%q\n' "${KUBECONFIG_PATH}"
  printf 'export KUBECACHEDIR=%q\n' "${KUBECACHEDIR}"
  printf 'export PATH=%q:"$PATH"\n' "${KUBE_BIN_DIR}"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 up|down|env" >&2
    exit 2
    ;;
esac
