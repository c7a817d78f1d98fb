#!/usr/bin/env bash
# Starts, stops or checks a Docker daemon for the image build and image test.
#
# The daemon runs without a bridge network and without touching iptables
# (`--bridge=none --iptables=false --ip6tables=false`), so containers use
# `--network host` or `--network none`. It listens only on a unix socket in the
# state directory. Its data root lives in the cache directory, so build layers
# survive between runs on the same machine.
#
#   tools/image/dockerd.sh start   prints DOCKER_HOST=unix://... (stderr says "already running" when it was)
#   tools/image/dockerd.sh stop    SIGTERM to the daemon this script started, waits, then
#                                  unmounts what it left under the state dir
#   tools/image/dockerd.sh status  exit 0 when the daemon responds
#
# Environment: SOMA_CACHE_DIR (default: $XDG_CACHE_HOME/soma or ~/.cache/soma),
# SOMA_DOCKERD_TIMEOUT seconds to wait for the daemon (default 60).
set -euo pipefail

cache_root="${SOMA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/soma}"
state_dir="$cache_root/dockerd"
socket="$state_dir/docker.sock"
pidfile="$state_dir/dockerd.pid"
logfile="$state_dir/dockerd.log"
timeout="${SOMA_DOCKERD_TIMEOUT:-60}"
export DOCKER_HOST="unix://$socket"

log() { printf '%s\n' "dockerd.sh: $*" >&2; }

daemon_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

daemon_answers() {
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

start_daemon() {
  if daemon_pid >/dev/null && daemon_answers; then
    log "already running (pid $(daemon_pid))"
    printf 'DOCKER_HOST=%s\n' "$DOCKER_HOST"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    log "dockerd not found; install it with: apt-get install -y docker.io"
    return 2
  fi

  mkdir -p "$state_dir/data" "$state_dir/exec"
  rm -f "$socket"
  log "starting dockerd (log: $logfile)"
  dockerd \
    --host "unix://$socket" \
    --data-root "$state_dir/data" \
    --exec-root "$state_dir/exec" \
    --pidfile "$pidfile" \
    --bridge=none --iptables=false --ip6tables=false \
    >"$logfile" 2>&1 </dev/null &
  local started_pid=$!

  local waited=0
  until daemon_answers; do
    if ! kill -0 "$started_pid" 2>/dev/null; then
      tail -n 20 "$logfile" >&2 || true
      log "dockerd exited during start; its log is above"
      return 1
    fi
    if (( waited >= timeout * 10 )); then
      tail -n 20 "$logfile" >&2 || true
      kill -TERM "$started_pid" 2>/dev/null || true
      log "dockerd did not respond within ${timeout}s; raise SOMA_DOCKERD_TIMEOUT or read $logfile"
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  log "dockerd responds (pid $started_pid)"
  printf 'DOCKER_HOST=%s\n' "$DOCKER_HOST"
}

# Prints the mount points under the state dir, deepest first, escaped as in
# field 5 of /proc/self/mountinfo (a space is written as \040). The prefix goes
# through the environment because awk -v would decode its backslashes.
leftover_mounts() {
  [[ -r /proc/self/mountinfo ]] || return 0
  local prefix="$state_dir/"
  prefix="${prefix//\\/\\134}"
  prefix="${prefix// /\\040}"
  MOUNT_PREFIX="$prefix" awk 'index($5, ENVIRON["MOUNT_PREFIX"]) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# dockerd mounts the network namespace of host-network containers at
# exec/netns/default and does not always unmount it on exit. The mount keeps
# the cache from being deleted ("Device or resource busy"), so it is removed
# once the daemon has stopped.
unmount_leftovers() {
  local escaped mount_point
  while IFS= read -r escaped; do
    mount_point="$(printf '%b' "$escaped")"
    if umount "$mount_point" 2>/dev/null || umount --lazy "$mount_point" 2>/dev/null; then
      log "unmounted $mount_point, left by dockerd"
    else
      log "could not unmount $mount_point; unmount it as root before deleting $state_dir"
    fi
  done < <(leftover_mounts)
}

stop_daemon() {
  local pid
  if ! pid="$(daemon_pid)"; then
    log "not running"
    unmount_leftovers
    return 0
  fi
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= 300 )); then
      log "dockerd (pid $pid) still running after 30s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  log "stopped (pid $pid)"
  unmount_leftovers
}

case "${1:-}" in
  start) start_daemon ;;
  stop) stop_daemon ;;
  status) daemon_pid >/dev/null && daemon_answers ;;
  *)
    log "usage: $0 start|stop|status"
    exit 2
    ;;
esac
