#!/usr/bin/env bash
# Reports each component of the single-node e2e cluster (npm run cluster:status).
# Exit status 0 when everything is running and healthy, 1 otherwise.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"

mode="$(cat "$CLUSTER_DIR/mode" 2>/dev/null || echo local)"
if [[ "${LAMINA_CLUSTER:-$mode}" == kind ]]; then
  # UNTESTED HERE (no Docker engine on this machine); see up.sh.
  "$KIND_BIN_DIR/kind" get clusters
  KUBECONFIG="$LAMINA_CACHE/kind/kubeconfig" "$KUBECTL_BIN" get nodes -o wide
  exit $?
fi

KUBECTL() { "$KUBECTL_BIN" --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=5s "$@"; }
probe() {
  case "$1" in
    containerd) containerd_ready ;;
    etcd) curl -fsS -m 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null | grep -q '"health":"true"' ;;
    kube-apiserver) curl -fsS -m 3 --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" "$APISERVER_URL/readyz" >/dev/null 2>&1 ;;
    kube-controller-manager) curl -fsSk -m 2 https://127.0.0.1:10257/healthz >/dev/null 2>&1 ;;
    kube-scheduler) curl -fsSk -m 2 https://127.0.0.1:10259/healthz >/dev/null 2>&1 ;;
    kubelet) curl -fsS -m 2 http://127.0.0.1:10248/healthz >/dev/null 2>&1 ;;
    kube-proxy) curl -fsS -m 2 http://127.0.0.1:10256/healthz >/dev/null 2>&1 ;;
    coredns) curl -fsS -m 2 http://127.0.0.1:18182/ready >/dev/null 2>&1 ;;
    # NetworkPolicy enforcement: its /healthz, and its chains hooked into FORWARD and INPUT
    kube-router)
      curl -fsS -m 2 "http://127.0.0.1:$KUBE_ROUTER_HEALTH_PORT/healthz" >/dev/null 2>&1 &&
        iptables -w -S FORWARD 2>/dev/null | grep -q -- '-j KUBE-ROUTER-FORWARD' &&
        iptables -w -S INPUT 2>/dev/null | grep -q -- '-j KUBE-ROUTER-INPUT'
      ;;
  esac
}

rc=0
printf '%-24s %-9s %-8s %8s  %s\n' COMPONENT STATE HEALTH RSS_MiB LOG
for c in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns kube-router; do
  if pid="$(running_pid "$c")"; then
    rss="$(awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status" 2>/dev/null)"
    if probe "$c"; then health=ok; else health=FAILING; rc=1; fi
    printf '%-24s %-9s %-8s %8s  %s\n' "$c" "pid $pid" "$health" "$rss" "$LOG_DIR/$c.log"
  else
    printf '%-24s %-9s %-8s %8s  %s\n' "$c" stopped - - "$LOG_DIR/$c.log"
    rc=1
  fi
done

shims=0
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null); do
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"-address $CONTAINERD_SOCK "* ]] && shims=$((shims + 1))
done
echo "shims: $shims   bridge $BRIDGE: $(ip -br addr show "$BRIDGE" 2>/dev/null | awk '{print $2, $3}' || true)"
if [[ -f "$ADMIN_KUBECONFIG" ]] && probe kube-apiserver; then
  echo
  KUBECTL get nodes -o wide 2>&1
  echo
  KUBECTL get pods -A -o wide 2>&1 | head -n 30
  echo
  echo "images:"
  ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q 2>/dev/null | grep -v '^sha256:' | sed 's/^/  /'
fi
echo
echo "KUBECONFIG=$ADMIN_KUBECONFIG"
exit $rc
