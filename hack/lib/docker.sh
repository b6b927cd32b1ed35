# shellcheck shell=bash
# A Docker engine for builds, started by hand when none is running (there is no
# systemd here) and stopped again by whoever started it.
#
#   docker_up     use the running engine, or start dockerd and remember its PID
#   docker_down   stop dockerd if docker_up started it (by that PID only)
#
# The engine is started without its default bridge and without touching the
# firewall: no docker0 (172.17.0.0/16), no iptables rules, no IP forwarding.
# Builds and runs must use --network host. Logs go to $NEAM_CACHE_DIR/docker/.

DOCKERD_PID=""

docker_up() {
  if docker info >/dev/null 2>&1; then
    return
  fi
  command -v dockerd >/dev/null ||
    { echo "dockerd not found: install the engine (apt-get install docker.io)" >&2; return 1; }
  [[ ${EUID} -eq 0 ]] || { echo "no Docker engine running, and starting one needs root" >&2; return 1; }
  local dir="${NEAM_CACHE_DIR}/docker"
  mkdir -p "${dir}"
  setsid dockerd --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
    --ip-masq=false >"${dir}/dockerd.log" 2>&1 </dev/null &
  DOCKERD_PID=$!
  local i
  for ((i = 0; i < 120; i++)); do
    docker info >/dev/null 2>&1 && return
    if ! kill -0 "${DOCKERD_PID}" 2>/dev/null; then
      DOCKERD_PID=""
      echo "dockerd exited; its log:" >&2
      tail -n 20 "${dir}/dockerd.log" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "dockerd did not answer within 60s; log: ${dir}/dockerd.log" >&2
  docker_down
  return 1
}

docker_down() {
  [[ -n "${DOCKERD_PID}" ]] || return 0
  kill -TERM "${DOCKERD_PID}" 2>/dev/null || true
  local i
  for ((i = 0; i < 120; i++)); do
    kill -0 "${DOCKERD_PID}" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL "${DOCKERD_PID}" 2>/dev/null || true
  DOCKERD_PID=""
}
