#!/usr/bin/env bash
# Build the project image (default neam-operator:dev) with Docker, without a
# registry: the base image is a Debian rootfs made with debootstrap, cached as a
# tarball in $NEAM_CACHE_DIR/images/, and the Dockerfile gets it as BASE_IMAGE.
#
#   hack/image.sh          build the base (if not cached) and the image, and save
#                          the image to $NEAM_CACHE_DIR/images/<name>.tar for the
#                          e2e node's containerd (hack/e2e.sh imports it)
#   hack/image.sh --print-tar   print that tarball's path and exit
#
# Environment:
#   NEAM_CACHE_DIR     cache root (default ~/.cache/neam-operator)
#   NEAM_IMAGE         image to build (default neam-operator:dev)
#   NEAM_BASE_IMAGE    use this base instead of the debootstrap one, e.g.
#                      python:3.11-slim where a registry is reachable
#   DEBIAN_MIRROR      debootstrap mirror (default: the host's first apt source)
#
# The Docker engine is started by hand if none runs (hack/lib/docker.sh) and
# stopped again afterwards. Builds use --network host: the engine has no bridge.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "${HERE}")"
# shellcheck source=hack/lib/docker.sh
source "${HERE}/lib/docker.sh"

: "${NEAM_CACHE_DIR:=${HOME}/.cache/neam-operator}"
IMAGE="${NEAM_IMAGE:-neam-operator:dev}"
IMAGES_DIR="${NEAM_CACHE_DIR}/images"
IMAGE_TAR="${IMAGES_DIR}/${IMAGE//[:\/]/_}.tar"

if [[ "${1:-}" == "--print-tar" ]]; then
  echo "${IMAGE_TAR}"
  exit 0
fi

SUITE=bookworm
BASE_TAG="neam-base:${SUITE}"
# python-is-python3: the Dockerfile runs `python -m venv`, as on python:3.11-slim.
BASE_PACKAGES=python3,python3-venv,python-is-python3,git,ca-certificates
# Bump when the recipe in build_base changes, so cached tarballs are rebuilt.
BASE_RECIPE=1

log() { printf '[image] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

debian_mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
    echo "${DEBIAN_MIRROR}"
    return
  fi
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { print $2; exit }')"
  [[ -n "${uri}" ]] ||
    uri="$(awk '$1 == "deb" { print ($2 ~ /^\[/ ? $3 : $2); exit }' /etc/apt/sources.list 2>/dev/null)"
  echo "${uri:-http://deb.debian.org/debian}"
}

# The host's extra CA certificates (a TLS-inspecting egress proxy, say): the
# build runs apt and pip inside the base, which must trust what the host trusts.
host_ca_files() {
  find /usr/local/share/ca-certificates -name '*.crt' -type f 2>/dev/null | sort
}

base_key() {
  {
    echo "${BASE_RECIPE} ${SUITE} ${BASE_PACKAGES}"
    host_ca_files | xargs -r cat
  } | sha256sum | cut -c1-16
}

# Mounts debootstrap left under DIR (after an interrupted run), deepest first.
unmount_under() {
  local dir="$1" target
  [[ -d "${dir}" ]] || return 0
  while read -r target; do
    umount -l "${target}" 2>/dev/null || true
  done < <(awk -v d="${dir}/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
}

# build_base TARBALL: debootstrap a minimal Debian with Python and git, made a
# drop-in for python:3.11-slim, and pack it as a gzipped tarball.
build_base() {
  local tarball="$1" rootfs="${NEAM_CACHE_DIR}/work/base-rootfs"
  command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
  [[ ${EUID} -eq 0 ]] || die "debootstrap needs root (or set NEAM_BASE_IMAGE=python:3.11-slim)"
  unmount_under "${rootfs}"
  rm -rf "${rootfs}"
  mkdir -p "${rootfs}" "${IMAGES_DIR}"
  local mirror start=${SECONDS}
  mirror="$(debian_mirror)"
  log "debootstrap ${SUITE} from ${mirror} (about 2 minutes)"
  debootstrap --variant=minbase --include="${BASE_PACKAGES}" "${SUITE}" "${rootfs}" "${mirror}" \
    >"${NEAM_CACHE_DIR}/work/debootstrap.log" 2>&1 ||
    die "debootstrap failed; log: ${NEAM_CACHE_DIR}/work/debootstrap.log"
  # As Debian's official images do: no apt caches left behind in image layers.
  cat >"${rootfs}/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  local ca
  while read -r ca; do
    cp "${ca}" "${rootfs}/usr/local/share/ca-certificates/"
  done < <(host_ca_files)
  chroot "${rootfs}" update-ca-certificates >/dev/null
  # pip (as ensurepip installs it) trusts certifi's bundle unless told otherwise.
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"${rootfs}/etc/pip.conf"
  chroot "${rootfs}" apt-get clean
  rm -rf "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/cache/apt/*.bin "${rootfs}"/tmp/*
  : >"${rootfs}/etc/resolv.conf"
  unmount_under "${rootfs}"
  tar -C "${rootfs}" --numeric-owner -c . | gzip -1 >"${tarball}.tmp"
  mv -f "${tarball}.tmp" "${tarball}"
  rm -rf "${rootfs}"
  log "base rootfs built in $((SECONDS - start))s: ${tarball} ($(du -h "${tarball}" | cut -f1))"
}

# ensure_base: the debootstrap base as the Docker image neam-base:<suite>.
ensure_base() {
  local key tarball
  key="$(base_key)"
  tarball="${IMAGES_DIR}/neam-base-${SUITE}-${key}.tar.gz"
  if [[ "$(docker image inspect -f '{{ index .Config.Labels "neam.dev/base-key" }}' \
    "${BASE_TAG}" 2>/dev/null)" == "${key}" ]]; then
    log "base ${BASE_TAG} (${key}) is up to date"
    return
  fi
  if [[ -f "${tarball}" ]]; then
    log "base rootfs cached: ${tarball}"
  else
    build_base "${tarball}"
  fi
  docker import -c 'ENV LANG=C.UTF-8' -c 'CMD ["/bin/bash"]' \
    -c "LABEL neam.dev/base-key=${key}" "${tarball}" "${BASE_TAG}" >/dev/null
  log "imported ${BASE_TAG} ($(docker image inspect -f '{{.Size}}' "${BASE_TAG}" | numfmt --to=si)B)"
}

# What the product promises of its image: user 10001, a read-only root filesystem
# is enough to run the CLIs, and git is present and trusts the workspace mount.
smoke_test() {
  local out
  out="$(docker run --rm --network host --read-only --tmpfs /tmp "${IMAGE}" sh -c \
    'id -u; git config --system --get-all safe.directory; neam-forge --help >/dev/null && echo ok')" ||
    die "smoke test of ${IMAGE} failed: ${out}"
  [[ "${out}" == $'10001\n/workspace\nok' ]] || die "smoke test of ${IMAGE}: unexpected ${out@Q}"
  log "smoke test passed: uid 10001, read-only root, git trusts /workspace"
}

# On any exit: no mounts left by an interrupted debootstrap, and the Docker engine
# stopped if this script started it.
cleanup() {
  unmount_under "${NEAM_CACHE_DIR}/work/base-rootfs"
  docker_down
}

main() {
  trap cleanup EXIT
  docker_up
  local base="${NEAM_BASE_IMAGE:-}" start
  if [[ -z "${base}" ]]; then
    ensure_base
    base="${BASE_TAG}"
  fi
  local previous
  previous="$(docker image inspect -f '{{.Id}}' "${IMAGE}" 2>/dev/null || true)"
  start=${SECONDS}
  log "docker build ${IMAGE} (BASE_IMAGE=${base})"
  docker build --network host --build-arg "BASE_IMAGE=${base}" -t "${IMAGE}" "${REPO}" >&2
  local id size
  id="$(docker image inspect -f '{{.Id}}' "${IMAGE}")"
  size="$(docker image inspect -f '{{.Size}}' "${IMAGE}" | numfmt --to=si)"
  log "built ${IMAGE} in $((SECONDS - start))s: ${id:7:12}, ${size}B"
  smoke_test
  mkdir -p "${IMAGES_DIR}"
  if [[ ! -f "${IMAGE_TAR}" || "$(cat "${IMAGE_TAR%.tar}.id" 2>/dev/null)" != "${id}" ]]; then
    docker save -o "${IMAGE_TAR}.tmp" "${IMAGE}"
    mv -f "${IMAGE_TAR}.tmp" "${IMAGE_TAR}"
    echo "${id}" >"${IMAGE_TAR%.tar}.id"
    log "saved ${IMAGE} to ${IMAGE_TAR}"
  fi
  # The previous build of this tag, unless something else still uses it.
  if [[ -n "${previous}" && "${previous}" != "${id}" ]]; then
    docker image rm "${previous}" >/dev/null 2>&1 || true
  fi
}

main
