#!/usr/bin/env bash
# Stops the single-node e2e cluster and leaves nothing behind (npm run cluster:down):
# no processes (components, shims, containers), no mounts (container rootfs overlays,
# sandbox shm, pod netns, kubelet pod volumes), no netns, bridge or veths, no iptables
# rules or chains (KUBE-*, CNI-*, our LAMINA-*), no kubelet cgroups.
#
# Usage: scripts/cluster/down.sh [--purge]
#   State that makes the next `up` fast is kept: etcd data (the cluster's objects), the
#   PKI, containerd's image store. --purge deletes all of it (images are re-imported
#   from the archives of the offline build on the next up).
# With LAMINA_CLUSTER=kind (or when up.sh created a kind cluster) it deletes that.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
# shellcheck source=teardown.sh
. "$SCRIPT_DIR/teardown.sh"

PURGE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    *) die "usage: $0 [--purge]" ;;
  esac
done

mode="$(cat "$CLUSTER_DIR/mode" 2>/dev/null || echo local)"
if [[ "${LAMINA_CLUSTER:-}" == kind || ( -z "${LAMINA_CLUSTER:-}" && "$mode" == kind ) ]]; then
  # UNTESTED HERE (no Docker engine on this machine); see up.sh.
  "$KIND_BIN_DIR/kind" delete cluster --name "${LAMINA_KIND_CLUSTER_NAME:-lamina}" >&2
  rm -f "$CLUSTER_DIR/mode"
  exit 0
fi

mkdir -p "$CLUSTER_DIR"
exec 8>"$LOCK_FILE"
flock 8
start=$SECONDS

# Node agents first, so nothing restarts the containers being removed.
stop_component kubelet 20
stop_component kube-proxy
stop_component coredns
stop_component kube-router
remove_all_containers
stop_component containerd 20
stop_component kube-scheduler
stop_component kube-controller-manager
stop_component kube-apiserver 20
stop_component etcd 20

# kube-proxy's own cleanup of its iptables/ipvs/nftables state, then the generic sweep.
if [[ -x "$K8S_BIN_DIR/kube-proxy" ]] && command -v iptables >/dev/null 2>&1; then
  timeout 30 "$K8S_BIN_DIR/kube-proxy" --cleanup >/dev/null 2>&1 || true
fi
step=$SECONDS
cleanup_host_state
((SECONDS - step < 3)) || log "host cleanup took $((SECONDS - step))s"

if [[ "$PURGE" == 1 ]]; then
  log "purging $CLUSTER_DIR"
  rm -rf "$CLUSTER_DIR"
  rm -f "$IMAGE_ARCHIVE_DIR"/*.imported
fi
log "cluster down ($((SECONDS - start))s)"
