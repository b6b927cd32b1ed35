#!/usr/bin/env bash
# The e2e cluster: real pods on a real kubelet, next to a kwokctl control plane.
#
#   hack/e2e.sh up         start it (a no-op for parts already up) and install the
#                          CRDs and the operator (kustomize/overlays/dev, local image)
#   hack/e2e.sh down       stop it and undo everything it changed on the host; safe
#                          after a crash and when nothing is up
#   hack/e2e.sh env        print `export` lines for KUBECONFIG, KUBECACHEDIR, PATH
#   hack/e2e.sh status     exit 0 if it is up, 1 if not
#   hack/e2e.sh deps       install the Debian packages it needs (root, apt-get)
#   hack/e2e.sh preflight  print why the e2e tier cannot run here, exit 1; or exit 0
#
# What runs (all bound to 127.0.0.1, all state under $NEAM_CACHE_DIR/e2e):
#   - kwokctl cluster neam-e2e (hack/cluster.sh, no fake node);
#   - containerd 2.x with its own root, state and socket (hack/e2e/containerd.toml.in),
#     a loopback-only CNI, and the images neam-operator:dev and the pause image;
#   - a kubelet registering node "localhost" (hack/e2e/kubelet.yaml.in);
#   - hack/e2e/local_provisioner.py behind the default StorageClass (local PVs);
#   - the admission policies that adapt pods of labelled namespaces
#     (hack/e2e/real-pods-policy.yaml.in); namespaces default and neam-dev are labelled.
# Product manifests stay unchanged: only this test cluster adapts.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "${HERE}")"
# shellcheck source=hack/kwok/versions.sh
source "${HERE}/kwok/versions.sh"
# shellcheck source=hack/lib/docker.sh
source "${HERE}/lib/docker.sh"

NAME=neam-e2e
STATE="${NEAM_CACHE_DIR}/e2e"
RUN="${STATE}/run"
LOGS="${STATE}/logs"
CLUSTER_DIR="${NEAM_CACHE_DIR}/kwok/clusters/${NAME}"
KUBECONFIG_PATH="${CLUSTER_DIR}/kubeconfig.yaml"
KUBECTL="${KUBE_BIN_DIR}/kubectl"
CTR="${CONTAINERD_BIN_DIR}/ctr"
SOCKET="${STATE}/containerd/containerd.sock"
NODE=localhost
PAUSE_IMAGE=neam.local/pause:e2e
CNI_BIN_DIR=/usr/lib/cni
VENV_PYTHON="${REPO}/.venv/bin/python"
# Namespaces labelled for real pods at `up` (the operator's own is labelled by
# hack/e2e/operator/).
LABELLED_NAMESPACES=(default neam-dev)
# Paths outside the state directory that the kubelet or containerd create
# whatever their configuration says; `down` removes those that `up` created.
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd /var/run/netns /opt/containerd)
DEBIAN_PACKAGES=(docker.io debootstrap containernetworking-plugins iproute2 openssl)
export KUBECACHEDIR="${NEAM_CACHE_DIR}/kubectl-cache"

log() { printf '[e2e] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
kubectl_() { "${KUBECTL}" --kubeconfig "${KUBECONFIG_PATH}" "$@"; }
cluster_sh() { NEAM_CLUSTER_NAME="${NAME}" NEAM_CLUSTER_FAKE_NODE=0 bash "${HERE}/cluster.sh" "$@"; }

# ------------------------------------------------------------------ preflight

unsupported_reason() {
  [[ "$(uname -s)" == Linux ]] || { echo "needs Linux (this is $(uname -s))"; return; }
  [[ ${EUID} -eq 0 ]] || { echo "needs root (it runs a kubelet and containerd)"; return; }
  [[ -d /sys/fs/cgroup ]] || { echo "needs cgroups mounted at /sys/fs/cgroup"; return; }
  return 0
}

missing_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v runc >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [[ -x "${CNI_BIN_DIR}/loopback" ]] || missing+=(containernetworking-plugins)
  command -v ss >/dev/null || missing+=(iproute2)
  command -v openssl >/dev/null || missing+=(openssl)
  printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d'
}

cmd_preflight() {
  local why
  why="$(unsupported_reason)"
  [[ -z "${why}" ]] || { echo "${why}"; exit 1; }
}

cmd_deps() {
  local why missing
  why="$(unsupported_reason)"
  [[ -z "${why}" ]] || die "${why}"
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    return
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

require() {
  local why missing bin
  why="$(unsupported_reason)"
  [[ -z "${why}" ]] || die "${why}"
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) || die "missing packages ${missing[*]}: run 'make e2e-deps'"
  for bin in "${KUBE_BIN_DIR}/kubelet" "${KUBECTL}" "${CONTAINERD_BIN_DIR}/containerd" \
    "${CONTAINERD_BIN_DIR}/containerd-shim-runc-v2" "${CTR}" "${PAUSE_BIN_DIR}/pause"; do
    [[ -x "${bin}" ]] || die "missing ${bin}: run 'make cluster-binaries'"
  done
  [[ -f "$(bash "${HERE}/image.sh" --print-tar)" ]] || die "no image tarball: run 'make image'"
  [[ -x "${VENV_PYTHON}" ]] || die "no ${VENV_PYTHON}: run 'make install'"
}

# ------------------------------------------------------------------ processes

pid_of() { cat "${RUN}/$1.pid" 2>/dev/null || true; }
alive() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null
}

# start NAME COMMAND...: run in its own session, log to $LOGS/NAME.log, remember the PID.
start() {
  local name="$1"
  shift
  setsid "$@" >"${LOGS}/${name}.log" 2>&1 </dev/null &
  echo $! >"${RUN}/${name}.pid"
}

# stop NAME: SIGTERM the remembered PID, then SIGKILL after 20 s.
stop() {
  local pid i
  pid="$(pid_of "$1")"
  rm -f "${RUN}/$1.pid"
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null || return 0
  kill -TERM "${pid}" 2>/dev/null || true
  for ((i = 0; i < 80; i++)); do
    kill -0 "${pid}" 2>/dev/null || return 0
    sleep 0.25
  done
  log "$1 (pid ${pid}) ignored SIGTERM; killing it"
  kill -KILL "${pid}" 2>/dev/null || true
}

# wait_until DESCRIPTION SECONDS COMMAND...: poll until COMMAND succeeds.
wait_until() {
  local what="$1" seconds="$2" i
  shift 2
  for ((i = 0; i < seconds * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  local log
  for log in "${LOGS}"/*.log; do
    [[ -f "${log}" ]] || continue
    log "--- last lines of ${log}:"
    tail -n 8 "${log}" >&2
  done
  die "timed out after ${seconds}s waiting for ${what}; logs in ${LOGS}"
}

render() {
  local port="${APISERVER_PORT:-}"
  sed -e "s|@STATE@|${STATE}|g" -e "s|@CLUSTER_DIR@|${CLUSTER_DIR}|g" \
    -e "s|@RUNC@|$(command -v runc)|g" -e "s|@CNI_BIN_DIR@|${CNI_BIN_DIR}|g" \
    -e "s|@APISERVER_PORT@|${port}|g" "$1"
}

# ------------------------------------------------------------------ up

record_host_paths() {
  local path
  [[ -f "${STATE}/created-host-paths" ]] && return
  for path in "${HOST_PATHS[@]}"; do
    [[ -e "${path}" ]] || echo "${path}"
  done >"${STATE}/created-host-paths"
}

start_containerd() {
  alive containerd && return
  mkdir -p "${STATE}/containerd" "${STATE}/cni/net.d" "${STATE}/runc"
  render "${HERE}/e2e/containerd.toml.in" >"${STATE}/containerd/config.toml"
  cp "${HERE}/e2e/loopback.conflist" "${STATE}/cni/net.d/10-loopback.conflist"
  # Its own shim first on PATH: containerd starts containerd-shim-runc-v2 from there.
  start containerd env PATH="${CONTAINERD_BIN_DIR}:${PATH}" \
    "${CONTAINERD_BIN_DIR}/containerd" --config "${STATE}/containerd/config.toml"
  wait_until "containerd" 30 ctr_ version
}

# ctr, without its warning that cgroup v1 is deprecated (this machine kind has v1).
ctr_() { "${CTR}" --address "${SOCKET}" -n k8s.io "$@" 2> >(grep -v 'cgroup v1' >&2); }

# The pause image, made once from the pause binary with Docker and cached.
pause_tarball() {
  local tar
  tar="${NEAM_CACHE_DIR}/images/pause-$(basename "${PAUSE_BIN_DIR}").tar"
  if [[ ! -f "${tar}" ]]; then
    docker_up
    local dir
    dir="$(mktemp -d)"
    cp "${PAUSE_BIN_DIR}/pause" "${dir}/pause"
    tar -C "${dir}" -c pause | docker import -c 'ENTRYPOINT ["/pause"]' \
      -c 'USER 65535:65535' - "${PAUSE_IMAGE}" >/dev/null
    rm -rf "${dir}"
    mkdir -p "$(dirname "${tar}")"
    docker save -o "${tar}.tmp" "${PAUSE_IMAGE}"
    mv -f "${tar}.tmp" "${tar}"
    docker image rm "${PAUSE_IMAGE}" >/dev/null
    docker_down
  fi
  echo "${tar}"
}

# import_image TARBALL: into the node's containerd, unless this exact file was
# imported already (its .id sidecar, or its checksum, names what is in there).
import_image() {
  local tar="$1" id
  id="$(cat "${tar%.tar}.id" 2>/dev/null || sha256sum "${tar}" | cut -c1-64)"
  local marker
  marker="${RUN}/imported-$(basename "${tar}")"
  if [[ "$(cat "${marker}" 2>/dev/null)" == "${id}" ]]; then
    return 1
  fi
  ctr_ images import --snapshotter overlayfs "${tar}" >/dev/null
  echo "${id}" >"${marker}"
  log "imported $(basename "${tar}") into containerd"
}

node_credentials() {
  local dir="${STATE}/kubelet/pki"
  [[ -f "${dir}/node.crt" ]] && return
  mkdir -p "${dir}"
  # The Node authorizer and NodeRestriction know a kubelet by this identity.
  openssl req -new -newkey rsa:2048 -nodes -keyout "${dir}/node.key" \
    -subj "/O=system:nodes/CN=system:node:${NODE}" -out "${dir}/node.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' \
    >"${dir}/ext.cnf"
  openssl x509 -req -in "${dir}/node.csr" -CA "${CLUSTER_DIR}/pki/ca.crt" \
    -CAkey "${CLUSTER_DIR}/pki/ca.key" -CAcreateserial -CAserial "${dir}/ca.srl" -days 30 \
    -extfile "${dir}/ext.cnf" -out "${dir}/node.crt" 2>/dev/null
}

start_kubelet() {
  alive kubelet && return
  local dir="${STATE}/kubelet" server
  mkdir -p "${dir}/root" "${dir}/certs" "${dir}/pod-logs"
  node_credentials
  server="$(kubectl_ config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
  cat >"${dir}/kubeconfig.yaml" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: ${NAME}
    cluster: {server: "${server}", certificate-authority: "${CLUSTER_DIR}/pki/ca.crt"}
users:
  - name: node
    user: {client-certificate: "${dir}/pki/node.crt", client-key: "${dir}/pki/node.key"}
contexts:
  - name: node
    context: {cluster: ${NAME}, user: node}
current-context: node
EOF
  echo "nameserver 127.0.0.1" >"${dir}/resolv.conf"
  render "${HERE}/e2e/kubelet.yaml.in" >"${dir}/config.yaml"
  start kubelet "${KUBE_BIN_DIR}/kubelet" --config "${dir}/config.yaml" \
    --kubeconfig "${dir}/kubeconfig.yaml" --root-dir "${dir}/root" --cert-dir "${dir}/certs" \
    --hostname-override "${NODE}" --node-labels neam.dev/real-pods=true --v=2
  wait_until "node ${NODE} to register" 60 kubectl_ get node "${NODE}"
  kubectl_ wait --for=condition=Ready "node/${NODE}" --timeout=60s >/dev/null
}

start_provisioner() {
  alive provisioner && return
  start provisioner "${VENV_PYTHON}" "${HERE}/e2e/local_provisioner.py" \
    --kubeconfig "${KUBECONFIG_PATH}" --root "${STATE}/volumes" --node "${NODE}"
}

adapt_cluster() {
  APISERVER_PORT="$(kubectl_ config view --minify -o jsonpath='{.clusters[0].cluster.server}' |
    sed 's|.*:||')"
  render "${HERE}/e2e/real-pods-policy.yaml.in" | kubectl_ apply -f - >/dev/null
  kubectl_ apply -f "${HERE}/e2e/storage.yaml" >/dev/null
  local ns
  for ns in "${LABELLED_NAMESPACES[@]}"; do
    kubectl_ create namespace "${ns}" --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
    kubectl_ label --overwrite namespace "${ns}" neam.dev/e2e-real-pods=true >/dev/null
  done
}

install_operator() {
  local restart="$1"
  kubectl_ apply --server-side --force-conflicts -f "${REPO}/crds/" >/dev/null
  kubectl_ wait --for=condition=Established crd --all --timeout=60s >/dev/null
  kubectl_ apply -k "${HERE}/e2e/operator" >/dev/null
  if [[ "${restart}" == 1 ]]; then
    # Same tag, new image: replace the running operator pod.
    kubectl_ -n neam-system rollout restart deployment/neam-operator >/dev/null
  fi
  kubectl_ -n neam-system rollout status deployment/neam-operator --timeout=180s >/dev/null ||
    die "the operator did not become ready; kubectl -n neam-system describe pods"
}

healthy() {
  [[ -f "${KUBECONFIG_PATH}" ]] && alive containerd && alive kubelet &&
    kubectl_ get --raw /readyz >/dev/null 2>&1
}

cmd_up() {
  require
  local start=${SECONDS}
  if ! healthy; then
    if [[ -d "${STATE}" || -d "${CLUSTER_DIR}" ]]; then
      log "removing stale e2e state"
      cmd_down
    fi
    mkdir -p "${RUN}" "${LOGS}"
    record_host_paths
    cluster_sh up
  fi
  mkdir -p "${RUN}" "${LOGS}"
  start_containerd
  import_image "$(pause_tarball)" || true
  local restart=0
  if import_image "$(bash "${HERE}/image.sh" --print-tar)"; then
    restart=1
  fi
  start_kubelet
  start_provisioner
  adapt_cluster
  install_operator "${restart}"
  log "e2e cluster up in $((SECONDS - start))s: node ${NODE} ready, operator running"
  log "use it with: eval \"\$(make -s e2e-env)\""
}

# ------------------------------------------------------------------ down

# Every container of the node: stop the tasks through containerd while it runs;
# after a crash, end whatever is left in the kubelet's cgroups and the shims of
# this containerd (found by its socket path, which only they carry).
stop_containers() {
  if alive containerd; then
    local id
    for id in $(ctr_ tasks ls -q 2>/dev/null); do
      ctr_ tasks kill -s SIGKILL "${id}" >/dev/null 2>&1 || true
    done
    sleep 0.5
    for id in $(ctr_ tasks ls -q 2>/dev/null); do
      ctr_ tasks delete -f "${id}" >/dev/null 2>&1 || true
    done
  fi
  local procs pid
  for procs in /sys/fs/cgroup/*/kubepods/cgroup.procs; do
    [[ -f "${procs}" ]] || continue
    while read -r pid; do
      kill -KILL "${pid}" 2>/dev/null || true
    done < <(find "$(dirname "${procs}")" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  local cmdline
  for cmdline in $(grep -lsF -- "${SOCKET}" /proc/[0-9]*/cmdline); do
    pid="${cmdline#/proc/}"
    kill -KILL "${pid%/cmdline}" 2>/dev/null || true
  done
}

# Every mount under the state directory (the kubelet's root dir bind-mounts
# itself; pod volumes, container root filesystems), deepest first.
unmount_state() {
  local target targets i
  for ((i = 0; i < 5; i++)); do
    mapfile -t targets < <(awk -v d="${STATE}/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
    ((${#targets[@]} == 0)) && return
    for target in "${targets[@]}"; do
      umount "${target}" 2>/dev/null || umount -l "${target}" 2>/dev/null || true
    done
  done
}

remove_kubepods_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d "${dir}" ]] || continue
    find "${dir}" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

cmd_down() {
  stop provisioner
  stop kubelet
  stop_containers
  stop containerd
  stop_containers
  unmount_state
  remove_kubepods_cgroups
  if [[ -f "${STATE}/created-host-paths" ]]; then
    local path
    while read -r path; do
      [[ -n "${path}" ]] && rm -rf "${path}"
    done <"${STATE}/created-host-paths"
  fi
  if [[ -d "${CLUSTER_DIR}" ]]; then
    cluster_sh down
  fi
  rm -rf "${STATE}"
  log "e2e cluster down; host state restored"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cluster_sh env ;;
  status) healthy ;;
  deps) cmd_deps ;;
  preflight) cmd_preflight ;;
  *)
    echo "usage: $0 up|down|env|status|deps|preflight" >&2
    exit 2
    ;;
esac
