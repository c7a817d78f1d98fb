#!/usr/bin/env bash
# Installs the pinned tools that the chart and kind-config tests use into
# $SOMA_CACHE_DIR/tools (default ~/.cache/soma/tools). A tool already there is reused.
#   bin/helm                      helm v4.3.2, built with `go install` (2.5 minutes cold on 2 cores)
#   bin/kind-config-check         tools/kind-config-check, built against sigs.k8s.io/kind v0.33.0
#   venv/bin/kubernetes-validate  kubernetes-validate 1.37.0 from PyPI, which bundles the
#                                 Kubernetes JSON schemas (the tests validate against 1.37.0)
# The tests look for the tools in the same place (SOMA_TOOLS_DIR overrides it).
set -euo pipefail

HELM_VERSION=v4.3.2
KUBERNETES_VALIDATE_VERSION=1.37.0

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache_root="${SOMA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/soma}"
tools_dir="${SOMA_TOOLS_DIR:-$cache_root/tools}"
bin_dir="$tools_dir/bin"
mkdir -p "$bin_dir"

log() { printf '%s\n' "install-tools: $*" >&2; }
fail() { log "$*"; exit 2; }

helm_marker="$bin_dir/.helm-$HELM_VERSION"
if [[ -x "$bin_dir/helm" && -f "$helm_marker" ]]; then
  log "helm $HELM_VERSION already installed"
else
  log "building helm $HELM_VERSION with go install (about 3 minutes on 2 cores, once per cache)"
  GOBIN="$bin_dir" go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  touch "$helm_marker"
fi

log "building kind-config-check"
(cd "$repo_dir/tools/kind-config-check" && go build -o "$bin_dir/kind-config-check" .)

venv="$tools_dir/venv"
# sed reads all of pip's output. Under pipefail, `grep -q` would close the pipe
# early, pip would exit 1 on the broken pipe and the check would always fail.
installed_version=""
if [[ -x "$venv/bin/kubernetes-validate" ]]; then
  installed_version="$("$venv/bin/python" -m pip show kubernetes-validate 2>/dev/null | sed -n 's/^Version: //p' || true)"
fi
if [[ "$installed_version" == "$KUBERNETES_VALIDATE_VERSION" ]]; then
  log "kubernetes-validate $KUBERNETES_VALIDATE_VERSION already installed"
else
  log "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

# A helm built by `go install` reports only its minor version (v4.3), so the
# check only runs it and the pinned version comes from HELM_VERSION.
"$bin_dir/helm" version --short >/dev/null || fail "$bin_dir/helm does not run; delete it and run this script again"
log "ready in $tools_dir: helm $HELM_VERSION, kind-config-check, kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
printf 'SOMA_TOOLS_DIR=%s\n' "$tools_dir"
