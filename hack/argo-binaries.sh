#!/usr/bin/env bash
# Build Argo Workflows' workflow-controller from its published Go module
# (github.com/argoproj/argo-workflows/v3) into $NEAM_CACHE_DIR, for the operator
# benchmark's peer (bench/argo.py). Next to the binary it copies the release's
# minimal CRDs (manifests/base/crds/minimal), so the benchmark installs the CRDs of
# the exact controller it runs. Nothing built is committed.
#
# One source change: the controller's health server listens on ":6060", every
# interface, with no flag to change it. The build compiles the release's
# cmd/workflow-controller/main.go (it imports only the module's public packages) as
# the throwaway module's own main package, with that server on 127.0.0.1 and the port
# in $ARGO_HEALTH_PORT (a free one when unset). Its metrics server is turned off by
# the benchmark's controller ConfigMap (metricsConfig.enabled: false).
#
# Idempotent and keyed by version: an existing
# $NEAM_CACHE_DIR/bin/argo-workflows-<version>/workflow-controller is reused.
#
# Environment:
#   NEAM_CACHE_DIR   cache root (default ~/.cache/neam-operator)
#   ARGO_VERSION     argo-workflows v3 release (default below)
#   NEAM_GO          go binary to use (default: go on PATH)
#
# With --print-dirs it only prints ARGO_BIN_DIR=... (shell-quoted) and exits.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/kwok/versions.sh
source "${HERE}/kwok/versions.sh"
: "${ARGO_VERSION:=v3.7.15}"
ARGO_MODULE=github.com/argoproj/argo-workflows/v3
ARGO_BIN_DIR="${NEAM_CACHE_DIR}/bin/argo-workflows-${ARGO_VERSION}"

if [[ "${1:-}" == "--print-dirs" ]]; then
  printf 'ARGO_BIN_DIR=%q\n' "${ARGO_BIN_DIR}"
  exit 0
fi

GOBUILD_LOG_PREFIX=argo-binaries
# shellcheck source=hack/lib/gobuild.sh
source "${HERE}/lib/gobuild.sh"

# loopback_main MAIN_GO OUT: MAIN_GO with the health server bound to
# 127.0.0.1:$ARGO_HEALTH_PORT; fails if the release's line moved.
loopback_main() {
  local listen='http.ListenAndServe(":6060", nil)'
  grep -qF "${listen}" "$1" ||
    { log "error: $1 has no ${listen}; update the patch for ${ARGO_VERSION}"; exit 1; }
  sed 's|http.ListenAndServe(":6060", nil)|http.ListenAndServe("127.0.0.1:"+os.Getenv("ARGO_HEALTH_PORT"), nil)|' \
    "$1" >"$2"
}

build_workflow_controller() {
  if [[ -z "$(missing "${ARGO_BIN_DIR}" workflow-controller)" && -d "${ARGO_BIN_DIR}/crds" ]]; then
    log "argo-workflows ${ARGO_VERSION}: cached in ${ARGO_BIN_DIR}"
    return
  fi
  log "argo-workflows ${ARGO_VERSION}: building workflow-controller"
  local work="${NEAM_CACHE_DIR}/work/argo-workflows-${ARGO_VERSION}"
  new_module "${work}" neam.local/argobuild
  local info gomod source_dir
  info="$("${GO}" mod download -json "${ARGO_MODULE}@${ARGO_VERSION}")"
  gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"${info}")"
  source_dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"${info}")"
  # A dependency's replace directives are ignored: carry the release's over.
  {
    printf '\nrequire %s %s\n\n' "${ARGO_MODULE}" "${ARGO_VERSION}"
    grep -E '^replace [^ ]+ => [^.]' "${gomod}" || true
  } >>"${work}/go.mod"
  loopback_main "${source_dir}/cmd/workflow-controller/main.go" "${work}/main.go"
  (
    cd "${work}"
    "${GO}" mod tidy
    timed "${GO}" build -trimpath -ldflags "-s -w -X ${ARGO_MODULE}.version=${ARGO_VERSION}" \
      -o "${work}/workflow-controller" .
  )
  mkdir -p "${ARGO_BIN_DIR}"
  rm -rf "${ARGO_BIN_DIR}/crds"
  mkdir -p "${ARGO_BIN_DIR}/crds"
  cp "${source_dir}"/manifests/base/crds/minimal/argoproj.io_*.yaml "${ARGO_BIN_DIR}/crds/"
  chmod -R u+w "${ARGO_BIN_DIR}/crds"
  mv -f "${work}/workflow-controller" "${ARGO_BIN_DIR}/workflow-controller"
}

build_lock argo-binaries
log "cache ${NEAM_CACHE_DIR} ($("${GO}" env GOVERSION), GOMAXPROCS=$(nproc))"
total_start=${SECONDS}
build_workflow_controller
log "workflow-controller ready in $((SECONDS - total_start))s"
