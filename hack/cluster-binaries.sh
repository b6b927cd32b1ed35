#!/usr/bin/env bash
# Build the local control plane from published Go modules into a cache outside
# the repository:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
#   kubelet                                    (k8s.io/kubernetes)
#   etcd                                       (go.etcd.io/etcd/server/v3)
#   kwok, kwokctl                              (sigs.k8s.io/kwok)
#   containerd, containerd-shim-runc-v2, ctr   (github.com/containerd/containerd/v2)
#   pause                                      (hack/e2e/pause/main.go)
#   source-controller, kustomize-controller    (github.com/fluxcd/..., only on request)
# containerd, pause and kubelet run the e2e tier's real node (hack/e2e.sh); the
# Flux controllers run next to it in the GitOps tests (tests/e2e/test_flux.py).
#
# Usage: cluster-binaries.sh [COMPONENT...] with components kwok, etcd, kubernetes,
# containerd, pause and flux; without any it builds all but flux.
#
# Idempotent and keyed by version: a binary that already exists in
# $NEAM_CACHE_DIR/bin/<component>-<version>/ is reused, only missing ones are
# built. Go's module and build caches also live in the cache directory, so a
# second machine run (or a CI cache restore of that one directory) is warm.
#
# Environment:
#   NEAM_CACHE_DIR   cache root (default ~/.cache/neam-operator)
#   KUBE_VERSION     k8s.io/kubernetes release     (default below)
#   ETCD_VERSION     etcd release                  (default below)
#   KWOK_VERSION     sigs.k8s.io/kwok release      (default below)
#   CONTAINERD_VERSION  containerd 2.x release     (default below)
#   FLUX_SOURCE_VERSION, FLUX_KUSTOMIZE_VERSION  Flux controller releases (default below)
#   NEAM_GO          go binary to use               (default: go on PATH)
#
# With --print-dirs it only prints KUBE_BIN_DIR=..., ETCD_BIN_DIR=...,
# KWOK_BIN_DIR=..., CONTAINERD_BIN_DIR=..., PAUSE_BIN_DIR=..., FLUX_SOURCE_BIN_DIR=...
# and FLUX_KUSTOMIZE_BIN_DIR=... (shell-quoted) for the pinned versions and exits.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/kwok/versions.sh
source "${HERE}/kwok/versions.sh"

if [[ "${1:-}" == "--print-dirs" ]]; then
  printf 'KUBE_BIN_DIR=%q\nETCD_BIN_DIR=%q\nKWOK_BIN_DIR=%q\nCONTAINERD_BIN_DIR=%q\nPAUSE_BIN_DIR=%q\n' \
    "${KUBE_BIN_DIR}" "${ETCD_BIN_DIR}" "${KWOK_BIN_DIR}" "${CONTAINERD_BIN_DIR}" "${PAUSE_BIN_DIR}"
  printf 'FLUX_SOURCE_BIN_DIR=%q\nFLUX_KUSTOMIZE_BIN_DIR=%q\n' \
    "${FLUX_SOURCE_BIN_DIR}" "${FLUX_KUSTOMIZE_BIN_DIR}"
  exit 0
fi

GOBUILD_LOG_PREFIX=cluster-binaries
# shellcheck source=hack/lib/gobuild.sh
source "${HERE}/lib/gobuild.sh"
mkdir -p "${GOMODCACHE}" "${GOCACHE}" "${KUBE_BIN_DIR}" "${ETCD_BIN_DIR}" "${KWOK_BIN_DIR}" \
  "${CONTAINERD_BIN_DIR}" "${PAUSE_BIN_DIR}"

build_kubernetes() {
  local want
  mkdir -p "${KUBE_BIN_DIR}"
  mapfile -t want < <(missing "${KUBE_BIN_DIR}" kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)
  if ((${#want[@]} == 0)); then
    log "kubernetes ${KUBE_VERSION}: cached in ${KUBE_BIN_DIR}"
    return
  fi
  log "kubernetes ${KUBE_VERSION}: building ${want[*]}"
  local work="${NEAM_CACHE_DIR}/work/kubernetes-${KUBE_VERSION}"
  new_module "${work}" neam.local/kubebuild
  local info gomod staging_version
  info="$(cd "${work}" && "${GO}" mod download -json "k8s.io/kubernetes@${KUBE_VERSION}")"
  gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"${info}")"
  # Staging modules are published as k8s.io/<name> v0.<minor>.<patch>.
  staging_version="v0.${KUBE_VERSION#v1.}"
  {
    printf '\nrequire k8s.io/kubernetes %s\n\n' "${KUBE_VERSION}"
    awk -v v="${staging_version}" '$2 == "=>" && $3 ~ /^\.\/staging\// { printf "replace %s => %s %s\n", $1, $1, v }' "${gomod}"
  } >>"${work}/go.mod"

  local build_date major minor pkg ldflags=(-s -w)
  build_date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "${gomod%.mod}.info")"
  major="$(cut -d. -f1 <<<"${KUBE_VERSION#v}")"
  minor="$(cut -d. -f2 <<<"${KUBE_VERSION}")"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=(
      -X "${pkg}.gitVersion=${KUBE_VERSION}"
      -X "${pkg}.gitMajor=${major}"
      -X "${pkg}.gitMinor=${minor}"
      -X "${pkg}.gitTreeState=clean"
      -X "${pkg}.buildDate=${build_date:-1970-01-01T00:00:00Z}"
    )
  done
  local pkgs=() name
  for name in "${want[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${name}"); done
  tools_file "${work}" "${pkgs[@]}"
  (
    cd "${work}"
    "${GO}" mod tidy
    local out="${work}/out"
    mkdir -p "${out}"
    timed "${GO}" build -trimpath -ldflags "${ldflags[*]}" -o "${out}/" "${pkgs[@]}"
    for name in "${want[@]}"; do mv -f "${out}/${name}" "${KUBE_BIN_DIR}/${name}"; done
  )
}

build_etcd() {
  mkdir -p "${ETCD_BIN_DIR}"
  if [[ -z "$(missing "${ETCD_BIN_DIR}" etcd)" ]]; then
    log "etcd ${ETCD_VERSION}: cached in ${ETCD_BIN_DIR}"
    return
  fi
  log "etcd ${ETCD_VERSION}: building etcd"
  local work="${NEAM_CACHE_DIR}/work/etcd-${ETCD_VERSION}"
  new_module "${work}" neam.local/etcdbuild
  printf '\nrequire go.etcd.io/etcd/server/v3 %s\n' "${ETCD_VERSION}" >>"${work}/go.mod"
  tools_file "${work}" go.etcd.io/etcd/server/v3/etcdmain
  (
    cd "${work}"
    "${GO}" mod tidy
    timed "${GO}" build -trimpath -ldflags "-s -w" -o "${work}/etcd" go.etcd.io/etcd/server/v3
    mv -f "${work}/etcd" "${ETCD_BIN_DIR}/etcd"
  )
}

build_kwok() {
  local want
  mkdir -p "${KWOK_BIN_DIR}"
  mapfile -t want < <(missing "${KWOK_BIN_DIR}" kwok kwokctl)
  if ((${#want[@]} == 0)); then
    log "kwok ${KWOK_VERSION}: cached in ${KWOK_BIN_DIR}"
    return
  fi
  log "kwok ${KWOK_VERSION}: building ${want[*]}"
  local pkgs=() name
  for name in "${want[@]}"; do pkgs+=("sigs.k8s.io/kwok/cmd/${name}@${KWOK_VERSION}"); done
  GOBIN="${KWOK_BIN_DIR}" timed "${GO}" install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" "${pkgs[@]}"
}

build_containerd() {
  local want
  mkdir -p "${CONTAINERD_BIN_DIR}"
  mapfile -t want < <(missing "${CONTAINERD_BIN_DIR}" containerd containerd-shim-runc-v2 ctr)
  if ((${#want[@]} == 0)); then
    log "containerd ${CONTAINERD_VERSION}: cached in ${CONTAINERD_BIN_DIR}"
    return
  fi
  log "containerd ${CONTAINERD_VERSION}: building ${want[*]}"
  local work="${NEAM_CACHE_DIR}/work/containerd-${CONTAINERD_VERSION}"
  local module=github.com/containerd/containerd/v2
  new_module "${work}" neam.local/containerdbuild
  printf '\nrequire %s %s\n' "${module}" "${CONTAINERD_VERSION}" >>"${work}/go.mod"
  local pkgs=() name
  for name in "${want[@]}"; do pkgs+=("${module}/cmd/${name}"); done
  tools_file "${work}" "${pkgs[@]}"
  (
    cd "${work}"
    "${GO}" mod tidy
    local out="${work}/out"
    mkdir -p "${out}"
    # Static binaries without the storage drivers the e2e node does not use.
    timed "${GO}" build -trimpath -tags "no_btrfs no_zfs no_devmapper" \
      -ldflags "-s -w -X ${module}/version.Version=${CONTAINERD_VERSION}" -o "${out}/" "${pkgs[@]}"
    for name in "${want[@]}"; do mv -f "${out}/${name}" "${CONTAINERD_BIN_DIR}/${name}"; done
  )
}

build_pause() {
  mkdir -p "${PAUSE_BIN_DIR}"
  if [[ -z "$(missing "${PAUSE_BIN_DIR}" pause)" ]]; then
    log "pause: cached in ${PAUSE_BIN_DIR}"
    return
  fi
  log "pause: building from ${PAUSE_SOURCE}"
  local work="${NEAM_CACHE_DIR}/work/pause"
  new_module "${work}" neam.local/pause
  cp "${PAUSE_SOURCE}" "${work}/main.go"
  (cd "${work}" && timed "${GO}" build -trimpath -ldflags "-s -w" -o "${PAUSE_BIN_DIR}/pause" .)
}

# build_flux_controller NAME VERSION BIN_DIR: github.com/fluxcd/NAME's main package
# (the module root) as its release builds it, and its CRDs into BIN_DIR/crds. A
# dependency's replace directives do not apply to the module that requires it, so
# the non-local ones are copied from the controller's go.mod; its ./api replace is
# left out (the published api module of the version it requires is used instead).
build_flux_controller() {
  local name="$1" version="$2" dir="$3"
  mkdir -p "${dir}"
  if [[ -z "$(missing "${dir}" "${name}")" ]]; then
    log "${name} ${version}: cached in ${dir}"
    return
  fi
  log "${name} ${version}: building ${name}"
  local module="github.com/fluxcd/${name}" work="${NEAM_CACHE_DIR}/work/${name}-${version}"
  new_module "${work}" "neam.local/${name//-/}build"
  local info gomod
  info="$(cd "${work}" && "${GO}" mod download -json "${module}@${version}")"
  gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"${info}")"
  {
    printf '\nrequire %s %s\n\n' "${module}" "${version}"
    awk '/=>/ { sub(/^[[:space:]]*(replace[[:space:]]+)?/, ""); split($0, side, "=>");
                if (side[2] !~ /^[[:space:]]*\./) print "replace " $0 }' "${gomod}"
  } >>"${work}/go.mod"
  tools_file "${work}" "${module}"
  (
    cd "${work}"
    # -e: modules that only the controller's own tests import need not be served
    # (the proxy lacks some); what it says matters only if the build then fails.
    "${GO}" mod tidy -e 2>"${work}/tidy.log"
    if ! timed "${GO}" build -trimpath -ldflags "-s -w" -o "${work}/${name}" "${module}"; then
      cat "${work}/tidy.log" >&2
      exit 1
    fi
    # Its CRDs, of the same version, for the tests to install (the binary comes last:
    # it marks the directory complete).
    mkdir -p "${dir}/crds"
    cp -f "$("${GO}" list -m -f '{{.Dir}}' "${module}")"/config/crd/bases/*.yaml "${dir}/crds/"
    mv -f "${work}/${name}" "${dir}/${name}"
  )
}

build_flux() {
  build_flux_controller source-controller "${FLUX_SOURCE_VERSION}" "${FLUX_SOURCE_BIN_DIR}"
  build_flux_controller kustomize-controller "${FLUX_KUSTOMIZE_VERSION}" "${FLUX_KUSTOMIZE_BIN_DIR}"
}

components=("$@")
if ((${#components[@]} == 0)); then
  components=(kwok etcd kubernetes containerd pause)
fi
for component in "${components[@]}"; do
  case "${component}" in
    kwok | etcd | kubernetes | containerd | pause | flux) ;;
    *)
      log "error: unknown component '${component}' (kwok etcd kubernetes containerd pause flux)"
      exit 2
      ;;
  esac
done

build_lock cluster-binaries
log "cache ${NEAM_CACHE_DIR} ($("${GO}" env GOVERSION), GOMAXPROCS=$(nproc))"
total_start=${SECONDS}
for component in "${components[@]}"; do
  "build_${component}"
done
log "${components[*]}: binaries ready in $((SECONDS - total_start))s"
