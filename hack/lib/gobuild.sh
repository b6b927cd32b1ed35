# shellcheck shell=bash
# Helpers for building binaries from published Go modules into $NEAM_CACHE_DIR,
# shared by hack/cluster-binaries.sh and hack/argo-binaries.sh.
#
# Set GOBUILD_LOG_PREFIX before sourcing; source hack/kwok/versions.sh first (it
# defaults NEAM_CACHE_DIR). Go's module and build caches live in the cache
# directory, so a second run (or a CI cache restore of that directory) is warm.

GO="${NEAM_GO:-go}"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOMODCACHE="${NEAM_CACHE_DIR}/go/mod"
export GOCACHE="${NEAM_CACHE_DIR}/go/build"
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"

log() { printf '[%s] %s\n' "${GOBUILD_LOG_PREFIX:-build}" "$*" >&2; }

# missing DIR NAME... -> prints the names whose binary is not yet in DIR
missing() {
  local dir="$1" name
  shift
  for name in "$@"; do
    [[ -x "${dir}/${name}" ]] || echo "${name}"
  done
}

# Run "$@" and log how long it took.
timed() {
  local start=${SECONDS}
  "$@"
  log "  done in $((SECONDS - start))s"
}

# new_module DIR MODULE_PATH: an empty throwaway module to build from.
new_module() {
  rm -rf "$1"
  mkdir -p "$1"
  printf 'module %s\n\ngo %s\n' "$2" "$("${GO}" env GOVERSION | sed 's/^go//')" >"$1/go.mod"
}

# tools_file DIR PACKAGE...: a tools.go importing the packages to build, so that
# `go mod tidy` records every module they need.
tools_file() {
  local dir="$1"
  shift
  {
    printf 'package tools\n\nimport (\n'
    printf '\t_ "%s"\n' "$@"
    printf ')\n'
  } >"${dir}/tools.go"
}

# build_lock NAME: fail without Go, then hold an exclusive lock for the rest of
# the script. Concurrent runs (parallel `make test`s) would share the throwaway
# modules; the second run waits, then finds everything built.
build_lock() {
  if ! command -v "${GO}" >/dev/null; then
    log "error: Go toolchain '${GO}' not found; install Go >= 1.26 or set NEAM_GO"
    exit 1
  fi
  mkdir -p "${NEAM_CACHE_DIR}"
  exec 9>"${NEAM_CACHE_DIR}/.$1.lock"
  if command -v flock >/dev/null; then
    flock 9
  fi
}
