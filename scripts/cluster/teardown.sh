# shellcheck shell=bash
# Cleanup used by down.sh, and by up.sh when it finds leftovers of a cluster whose
# processes are gone (killed, a crash, a reboot). Sourced after lib.sh.
#
# Order matters: the kubelet first (so it restarts nothing), then every container and
# sandbox (their rootfs overlays, netns and veths go with them), then containerd, then
# whatever mounts, links, iptables chains and cgroups are still around.

# Kills every task of our containerd and deletes every container (pods' containers and
# sandboxes alike). Without the kubelet's CNI DEL, the veths go when the netns goes and
# host-local IPAM state is reset below.
remove_all_containers() {
  containerd_ready || return 0
  local ns id
  for ns in $(ctr --address "$CONTAINERD_SOCK" namespaces ls -q 2>/dev/null); do
    for id in $(ctr --address "$CONTAINERD_SOCK" -n "$ns" tasks ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n "$ns" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr --address "$CONTAINERD_SOCK" -n "$ns" tasks ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n "$ns" tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr --address "$CONTAINERD_SOCK" -n "$ns" containers ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n "$ns" containers delete "$id" >/dev/null 2>&1 || true
    done
  done
}

# Shims and container processes that outlived containerd: shims of our socket are
# recognised by their -address argument; anything still running inside our runc root
# is killed through runc.
kill_stray_processes() {
  local pid args id
  if [[ -d "$RUNC_ROOT" ]]; then
    for id in $(runc --root "$RUNC_ROOT/k8s.io" list -q 2>/dev/null); do
      runc --root "$RUNC_ROOT/k8s.io" kill "$id" KILL >/dev/null 2>&1 || true
      runc --root "$RUNC_ROOT/k8s.io" delete -f "$id" >/dev/null 2>&1 || true
    done
  fi
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true); do
    args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    if [[ "$args" == *"-address $CONTAINERD_SOCK "* ]]; then
      log "killing stray shim $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

# Unmounts everything below our directories (deepest first): container rootfs overlays,
# sandbox /dev/shm, netns bind mounts, kubelet pod volumes (projected tokens are tmpfs).
unmount_all() {
  local prefix target pass
  for pass in 1 2 3; do
    local targets=()
    while read -r target; do
      for prefix in "$CLUSTER_DIR/" "/run/lamina-cluster/"; do
        [[ "$target/" == "$prefix"* ]] && targets+=("$target")
      done
    done < <(findmnt -rn -o TARGET | sed 's/\\x20/ /g')
    [[ ${#targets[@]} -eq 0 ]] && return 0
    for target in $(printf '%s\n' "${targets[@]}" | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-); do
      umount "$target" 2>/dev/null || { [[ $pass == 3 ]] && umount -l "$target" 2>/dev/null; } || true
    done
  done
}

# Links: the bridge and any veth still attached to it.
remove_links() {
  local dev
  for dev in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link delete "$dev" 2>/dev/null || true
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link delete "$BRIDGE" 2>/dev/null || true
  fi
}

# iptables (and ip6tables): every KUBE-* chain (kubelet, kube-proxy), every CNI-* chain
# (bridge/portmap plugins) and our LAMINA-* chains, plus the rules jumping to them from
# the built-in chains. Nothing else is touched.
clean_iptables() {
  local bin table rules line chains c
  for bin in iptables ip6tables; do
    command -v "$bin" >/dev/null 2>&1 || continue
    for table in filter nat mangle raw; do
      rules="$("$bin" -w -t "$table" -S 2>/dev/null)" || continue
      while read -r line; do
        [[ -n "$line" ]] || continue
        eval "$bin -w -t $table -D ${line#-A }" 2>/dev/null || true
      done < <(printf '%s\n' "$rules" | grep -E '^-A ' | grep -vE '^-A (KUBE-|CNI-|LAMINA-)' |
        grep -E -- '-j (KUBE-|CNI-|LAMINA-)' || true)
      chains="$(printf '%s\n' "$rules" | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-|LAMINA-)/ {print $2}')"
      for c in $chains; do "$bin" -w -t "$table" -F "$c" 2>/dev/null || true; done
      for c in $chains; do "$bin" -w -t "$table" -X "$c" 2>/dev/null || true; done
    done
  done
}

# The kubelet's cgroups (QoS and pod levels) in every hierarchy: up.sh records the trees
# it lets the kubelet create ("<cgroup root>/kubepods", or our own nested "…/lamina").
remove_cgroups() {
  local tree hier
  for tree in $(cat "$RUN_DIR/cgroup-trees" 2>/dev/null); do
    [[ "$tree" == /*/* || "$tree" == /kubepods ]] || continue # never a hierarchy root
    for hier in /sys/fs/cgroup/*/; do
      [[ -d "$hier${tree#/}" ]] || continue
      find "$hier${tree#/}" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  done
  rm -f "$RUN_DIR/cgroup-trees"
}

# Everything after the processes are gone.
cleanup_host_state() {
  kill_stray_processes
  unmount_all
  # netns files (bind-mount targets) left after unmounting
  rm -rf "$CONTAINERD_STATE/io.containerd.grpc.v1.cri/netns" "$CONTAINERD_STATE/netns" 2>/dev/null || true
  remove_links
  clean_iptables
  # kube-router's ipsets (its KUBE-* chains went with clean_iptables, which referenced them)
  if command -v ipset >/dev/null 2>&1; then
    ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router)' | xargs -r -n1 ipset destroy 2>/dev/null || true
  fi
  remove_cgroups
  # host-local IPAM allocations and the CNI result cache of our network
  # (containerd also runs the loopback plugin as network "cni-loopback"; no one else here uses CNI)
  rm -rf "$CNI_DIR/ipam" "/var/lib/cni/results/$CNI_NETWORK_NAME-"* /var/lib/cni/results/cni-loopback-* 2>/dev/null || true
  rm -rf /run/lamina-cluster
}
