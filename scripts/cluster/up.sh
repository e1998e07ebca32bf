#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for the e2e tests (npm run cluster:up).
#
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy
#     real binaries built from the Kubernetes Go modules (scripts/k8s/build.sh, cached)
#   containerd 1.6 + runc + CNI plugins (bridge, host-local, loopback, portmap),
#     iptables, conntrack: Debian packages, apt-get installed when missing
#   CoreDNS: built from its Go module (build-tools.sh), run as a host process on the
#     bridge gateway (10.88.0.1:53) with the kubernetes plugin and no forwarding
#   kube-router, its network-policy controller only: NetworkPolicy enforcement for the
#     bridge CNI (iptables + ipset), built from its Go module (build-tools.sh), a host process
#   images: the pause image and lamina/runtime:dev built offline
#     (runtime-image/build/build-offline.sh) and imported into containerd; no registry
#
# Prints progress on stderr and `KUBECONFIG=<path>` as the last line of stdout.
# Idempotent: when everything is already up and healthy it returns within seconds;
# a component that died is restarted; leftovers of a cluster whose processes are gone
# (killed processes, a reboot) are cleaned up first.
#
# Where a Docker engine works (`docker info`), or with LAMINA_CLUSTER=kind, it creates a
# kind cluster instead (see kind_up below). LAMINA_CLUSTER=local forces this machine's
# cluster. LAMINA_SKIP_IMAGES=1 skips building/importing lamina/runtime:dev.
#
# Network: pods get 10.88.0.0/16 addresses on the bridge cni0 (gateway and node IP
# 10.88.0.1), Services 10.96.0.0/16 through kube-proxy (iptables mode). The apiserver
# answers on 127.0.0.1:6443 and, for pods, on the node IP; port 6443 and the kubelet's
# 10250 are dropped on every other interface, and pods cannot reach anything outside
# the machine (no masquerading, forwarding out of cni0 dropped).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
# shellcheck source=pki.sh
. "$SCRIPT_DIR/pki.sh"
# shellcheck source=teardown.sh
. "$SCRIPT_DIR/teardown.sh"

START_TIME=$SECONDS
elapsed() { echo "$((SECONDS - START_TIME))s"; }

# ------------------------------------------------------------------------ kind

# kind on machines with a Docker engine. UNTESTED HERE: this machine has no Docker
# engine (and no registry to pull kindest/node from), so this path has never run on it.
# It mirrors the local path: same images (built with `docker build` from the same
# Dockerfile, then `kind load docker-image`), same KUBECONFIG contract.
KIND_CLUSTER_NAME="${LAMINA_KIND_CLUSTER_NAME:-lamina}"
KIND_KUBECONFIG="$LAMINA_CACHE/kind/kubeconfig"

kind_up() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 ||
    die "LAMINA_CLUSTER=kind needs a working Docker engine (\`docker info\` failed)"
  bash "$SCRIPT_DIR/build-tools.sh" kind
  local kind="$KIND_BIN_DIR/kind"
  mkdir -p "$(dirname "$KIND_KUBECONFIG")" "$CLUSTER_DIR"
  echo kind >"$CLUSTER_DIR/mode"
  if ! "$kind" get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER_NAME"; then
    log "creating kind cluster $KIND_CLUSTER_NAME ($KIND_NODE_IMAGE)"
    "$kind" create cluster --name "$KIND_CLUSTER_NAME" --image "$KIND_NODE_IMAGE" \
      --kubeconfig "$KIND_KUBECONFIG" --wait 180s >&2
  else
    "$kind" get kubeconfig --name "$KIND_CLUSTER_NAME" >"$KIND_KUBECONFIG"
  fi
  if [[ "${LAMINA_SKIP_IMAGES:-0}" != 1 ]]; then
    "$REPO_ROOT/runtime-image/agent-go/build.sh" >&2
    (cd "$REPO_ROOT" && docker build -q -f runtime-image/Dockerfile -t lamina/runtime:dev .) >&2
    "$kind" load docker-image lamina/runtime:dev --name "$KIND_CLUSTER_NAME" >&2
    if [[ -f "$REPO_ROOT/operator/Dockerfile" ]]; then
      (cd "$REPO_ROOT" && docker build -q -f operator/Dockerfile -t lamina/operator:dev .) >&2
      "$kind" load docker-image lamina/operator:dev --name "$KIND_CLUSTER_NAME" >&2
    fi
  fi
  echo "KUBECONFIG=$KIND_KUBECONFIG"
}

use_kind() {
  case "${LAMINA_CLUSTER:-auto}" in
    kind) return 0 ;;
    local) return 1 ;;
    *) command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 ;;
  esac
}

# ---------------------------------------------------------------- health probes

KUBECTL() { "$KUBECTL_BIN" --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=5s "$@"; }
etcd_healthy() { curl -fsS -m 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }
apiserver_ready() {
  [[ -f "$ADMIN_KUBECONFIG" ]] && curl -fsS -m 3 --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" \
    --key "$PKI_DIR/admin.key" "$APISERVER_URL/readyz" >/dev/null 2>&1
}
https_healthz() { curl -fsSk -m 2 "https://127.0.0.1:$1/healthz" >/dev/null 2>&1; }
controller_manager_healthy() { https_healthz 10257; }
scheduler_healthy() { https_healthz 10259; }
kubelet_healthy() { curl -fsS -m 2 http://127.0.0.1:10248/healthz >/dev/null 2>&1; }
kube_proxy_healthy() { curl -fsS -m 2 http://127.0.0.1:10256/healthz >/dev/null 2>&1; }
coredns_ready() { curl -fsS -m 2 http://127.0.0.1:18182/ready >/dev/null 2>&1; }
# kube-router: healthy by its own /healthz (every controller it runs sent a heartbeat), and
# enforcing once its chains hang off FORWARD (pod to pod) and INPUT (pod to node).
kube_router_healthy() {
  curl -fsS -m 2 "http://127.0.0.1:$KUBE_ROUTER_HEALTH_PORT/healthz" >/dev/null 2>&1 &&
    iptables -w -S FORWARD 2>/dev/null | grep -q -- '-j KUBE-ROUTER-FORWARD' &&
    iptables -w -S INPUT 2>/dev/null | grep -q -- '-j KUBE-ROUTER-INPUT'
}
node_ready() {
  [[ "$(KUBECTL get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

# wait_for <what> <seconds> <probe...>: polls; on timeout shows the component's log.
wait_for() {
  local what="$1" timeout="$2" i
  shift 2
  for ((i = 0; i < timeout * 4; i++)); do
    "$@" && return 0
    sleep 0.25
  done
  log "$what not ready after ${timeout}s; last lines of $LOG_DIR/$what.log:"
  tail -n 25 "$LOG_DIR/$what.log" >&2 2>/dev/null || true
  die "$what did not become ready"
}

COMPONENTS="containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns kube-router"

all_healthy() {
  local c
  for c in $COMPONENTS; do running_pid "$c" >/dev/null || return 1; done
  containerd_ready && etcd_healthy && apiserver_ready && controller_manager_healthy &&
    scheduler_healthy && kubelet_healthy && kube_proxy_healthy && coredns_ready && node_ready &&
    kube_router_healthy
}

# ------------------------------------------------------------------ host setup

install_dependencies() {
  ensure_packages containerd:containerd runc:runc "$CNI_BIN_DIR/bridge:containernetworking-plugins" \
    iptables:iptables ipset:ipset conntrack:conntrack openssl:openssl curl:curl ethtool:ethtool \
    ip:iproute2 findmnt:util-linux nft:nftables
  # Binaries from the Go module proxy (cached; the first build takes minutes).
  bash "$REPO_ROOT/scripts/k8s/build.sh" \
    etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy
  bash "$SCRIPT_DIR/build-tools.sh" coredns kube-router
}

sysctl_set() { [[ "$(cat "/proc/sys/${1//.//}" 2>/dev/null)" == "$2" ]] || sysctl -qw "$1=$2" >/dev/null; }

setup_network() {
  sysctl_set net.ipv4.ip_forward 1
  # Bridged pod-to-pod traffic must traverse iptables for Service DNAT to work.
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || modprobe br_netfilter 2>/dev/null || true
  sysctl_set net.bridge.bridge-nf-call-iptables 1
  sysctl_set net.bridge.bridge-nf-call-ip6tables 1
  # The bridge exists before the first pod so CoreDNS can bind the gateway address.
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr show dev "$BRIDGE" | grep -q "inet $NODE_IP/" || ip addr add "$NODE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up

  # Our own filter chains (removed by down.sh).
  local t
  for t in LAMINA-INPUT LAMINA-FORWARD; do iptables -w -N "$t" 2>/dev/null || iptables -w -F "$t"; done
  iptables -w -A LAMINA-INPUT -i lo -j RETURN
  iptables -w -A LAMINA-INPUT -i "$BRIDGE" -j RETURN
  iptables -w -A LAMINA-INPUT -p tcp -m multiport --dports "$PROTECTED_TCP_PORTS" -j DROP
  iptables -w -A LAMINA-FORWARD -i "$BRIDGE" -o "$BRIDGE" -j RETURN
  iptables -w -A LAMINA-FORWARD -i "$BRIDGE" -j DROP
  iptables -w -A LAMINA-FORWARD -o "$BRIDGE" -j DROP
  iptables -w -C INPUT -j LAMINA-INPUT 2>/dev/null || iptables -w -I INPUT 1 -j LAMINA-INPUT
  iptables -w -C FORWARD -j LAMINA-FORWARD 2>/dev/null || iptables -w -I FORWARD 1 -j LAMINA-FORWARD
}

# The kubelet's cgroup root. This machine is cgroup v1 and every process sits in a
# nested memory cgroup (/process_api/<id>) while the other controllers are at "/".
# A cgroup root of "/" would put the pods' memory cgroups outside that nesting, i.e.
# outside the limits/accounting of whoever started them. So pods go into
# "<our memory cgroup>/lamina/kubepods/..." in every hierarchy (cgroupfs creates the same
# path in all of them). The kubelet requires its cgroup root to exist in every hierarchy,
# so it is created here (cpuset needs cpus/mems copied down to become usable).
# On an ordinary host (processes at "/") the root stays "/".
kubelet_cgroup_root() {
  local base
  base="$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)"
  if [[ -z "$base" || "$base" == "/" ]]; then
    echo "/"
  else
    echo "${base%/}/lamina"
  fi
}

ensure_cgroup_root() {
  local root="$1" hier rel dir parent
  mkdir -p "$RUN_DIR"
  local tree="$root"
  [[ "$root" == "/" ]] && tree=/kubepods
  grep -qxF "$tree" "$RUN_DIR/cgroup-trees" 2>/dev/null || echo "$tree" >>"$RUN_DIR/cgroup-trees"
  [[ "$root" == "/" ]] && return 0
  for hier in /sys/fs/cgroup/*/; do
    [[ -f "${hier}cgroup.procs" && "$hier" != */unified/ ]] || continue
    dir="${hier%/}"
    rel=""
    local part
    IFS='/' read -ra parts <<<"${root#/}"
    for part in "${parts[@]}"; do
      parent="$dir$rel"
      rel+="/$part"
      if [[ ! -d "$dir$rel" ]]; then
        mkdir "$dir$rel"
      fi
      if [[ -f "$dir$rel/cpuset.cpus" && -z "$(cat "$dir$rel/cpuset.cpus")" ]]; then
        cat "$parent/cpuset.cpus" >"$dir$rel/cpuset.cpus"
        cat "$parent/cpuset.mems" >"$dir$rel/cpuset.mems"
      fi
    done
  done
}

# ---------------------------------------------------------------- config files

# write_if_changed <file>: stdin -> file, only when the content differs.
write_if_changed() {
  local file="$1" tmp
  tmp="$(mktemp "$file.XXXX")"
  cat >"$tmp"
  if [[ -f "$file" ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$file"
  fi
}

write_configs() {
  mkdir -p "$CONTAINERD_DIR" "$CNI_CONF_DIR" "$KUBELET_DIR" "$LOG_DIR" "$RUN_DIR" "$CNI_DIR/ipam"
  local cgroup_root="$1"

  write_if_changed "$CONTAINERD_CONFIG" <<EOF
# Generated by scripts/cluster/up.sh: the e2e cluster's own containerd. Own root, state,
# socket and runc root, so it never touches a system containerd.
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD_DIR/opt"

[plugins."io.containerd.grpc.v1.cri"]
  # Built locally (runtime-image/build/pause.c) and imported: never pulled.
  sandbox_image = "$PAUSE_IMAGE"
  # Pod network namespaces live under our state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  max_container_log_line_size = 16384
  # This machine's root lacks CAP_SYS_RESOURCE (not even in the bounding set), so no
  # process may lower its oom_score_adj: the sandbox's -998 made runc's init fail with
  # "can't get final child's PID from pipe: EOF". Clamp to containerd's own score.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "$RUNC_ROOT"
        # cgroup v1 with the cgroupfs driver, like the kubelet.
        SystemdCgroup = false
  # Per-registry settings (hosts.toml files): the test tier's registry serves plain HTTP on
  # the node IP (scripts/registry/up.sh writes its file; read at every pull, no restart).
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$CONTAINERD_CERTS_DIR"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
EOF

  # ipMasq off: pods talk to the node and to each other, never to the outside.
  write_if_changed "$CNI_CONF_DIR/10-$CNI_NETWORK_NAME.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK_NAME",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CNI_DIR/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF

  # Pods' resolv.conf source: cluster DNS only, no host search domains or resolvers.
  write_if_changed "$KUBELET_DIR/resolv.conf" <<EOF
nameserver $NODE_IP
EOF

  # failCgroupV1: false   1.32 still runs on cgroup v1 (this host) when told so.
  # failSwapOn: false     harmless here (no swap) and needed on dev machines with swap.
  # imageGC thresholds    100/99: never garbage-collect images; nothing can be re-pulled.
  # evictionHard          low disk thresholds: a dev disk at 85% must not evict test pods.
  # podPidsLimit: 1024    Lambda's limit of 1,024 processes/threads per environment; a fork
  #                       bomb in a function stops there instead of exhausting the node.
  # volumeStatsAggPeriod  how often emptyDir usage is measured (default 1m, jittered up to
  #                       2m): a /tmp past its sizeLimit is evicted within ~30 s, not 2+ min.
  write_if_changed "$CLUSTER_DIR/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI_DIR/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $PKI_DIR/kubelet-serving.crt
tlsPrivateKeyFile: $PKI_DIR/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
cgroupRoot: $cgroup_root
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
clusterDomain: $CLUSTER_DOMAIN
clusterDNS:
  - $NODE_IP
resolvConf: $KUBELET_DIR/resolv.conf
hairpinMode: hairpin-veth
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%
  nodefs.inodesFree: 2%
  imagefs.available: 2%
maxPods: 110
podPidsLimit: 1024
volumeStatsAggPeriod: 10s
containerLogMaxSize: 10Mi
rotateCertificates: false
serverTLSBootstrap: false
# No CAP_SYS_RESOURCE here (see restrict_oom_score_adj): do not try to lower our own score.
oomScoreAdj: 0
EOF

  # conntrack: 0 = leave the host's sysctls alone. localhostNodePorts: false = no
  # route_localnet. NodePorts only on the node (bridge) address.
  write_if_changed "$CLUSTER_DIR/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $CLUSTER_DIR/kube-proxy.kubeconfig
mode: iptables
oomScoreAdj: 0
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses:
  - $NODE_IP/32
iptables:
  localhostNodePorts: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF

  # Cluster DNS: answers for cluster.local (and reverse zones) from the API; no forward
  # plugin is compiled in, so nothing is ever sent to an outside resolver.
  write_if_changed "$CLUSTER_DIR/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:18181
    ready 127.0.0.1:18182
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $ADMIN_KUBECONFIG lamina
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
    loadbalance
}
EOF
}

# ------------------------------------------------------------------ components

start_containerd() {
  running_pid containerd >/dev/null && containerd_ready && return 0
  stop_component containerd
  mkdir -p "$(dirname "$CONTAINERD_SOCK")" "$CONTAINERD_CERTS_DIR"
  log "starting containerd ($CONTAINERD_SOCK)"
  sha256sum "$CONTAINERD_CONFIG" | cut -d' ' -f1 >"$RUN_DIR/containerd.config.sha256"
  start_detached containerd containerd --config "$CONTAINERD_CONFIG"
}

# Warm path: a containerd started with an older config.toml (a setting added since) is
# restarted; running containers keep running (their shims outlive it) and the kubelet
# reconnects.
refresh_containerd_config() {
  write_configs "$(kubelet_cgroup_root)"
  [[ "$(sha256sum "$CONTAINERD_CONFIG" | cut -d' ' -f1)" != "$(cat "$RUN_DIR/containerd.config.sha256" 2>/dev/null)" ]] ||
    return 0
  log "containerd's config.toml changed: restarting containerd"
  stop_component containerd 30
  start_containerd
  wait_for containerd 30 containerd_ready
}

start_etcd() {
  running_pid etcd >/dev/null && return 0
  log "starting etcd (127.0.0.1:$ETCD_CLIENT_PORT)"
  mkdir -p "$ETCD_DATA_DIR"
  chmod 700 "$ETCD_DATA_DIR"
  start_detached etcd "$ETCD_BIN" --name lamina --data-dir "$ETCD_DATA_DIR" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "lamina=http://127.0.0.1:$ETCD_PEER_PORT" \
    --listen-metrics-urls "" --quota-backend-bytes 2147483648 --auto-compaction-retention 1h \
    --log-level warn
}

start_apiserver() {
  running_pid kube-apiserver >/dev/null && return 0
  log "starting kube-apiserver (127.0.0.1:$APISERVER_PORT, $NODE_IP:$APISERVER_PORT)"
  start_detached kube-apiserver "$K8S_BIN_DIR/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 0.0.0.0 --secure-port "$APISERVER_PORT" --advertise-address "$NODE_IP" \
    --tls-cert-file "$PKI_DIR/kube-apiserver.crt" --tls-private-key-file "$PKI_DIR/kube-apiserver.key" \
    --client-ca-file "$PKI_DIR/ca.crt" \
    --kubelet-client-certificate "$PKI_DIR/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI_DIR/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI_DIR/ca.crt" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file "$PKI_DIR/sa.pub" \
    --service-account-signing-key-file "$PKI_DIR/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --allow-privileged=true \
    --profiling=false \
    --v=1
}

start_controller_manager() {
  running_pid kube-controller-manager >/dev/null && return 0
  log "starting kube-controller-manager"
  local kc="$CLUSTER_DIR/controller-manager.kubeconfig"
  start_detached kube-controller-manager "$K8S_BIN_DIR/kube-controller-manager" \
    --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false \
    --cluster-name lamina --service-cluster-ip-range "$SERVICE_CIDR" \
    --cluster-signing-cert-file "$PKI_DIR/ca.crt" --cluster-signing-key-file "$PKI_DIR/ca.key" \
    --root-ca-file "$PKI_DIR/ca.crt" --service-account-private-key-file "$PKI_DIR/sa.key" \
    --use-service-account-credentials=true --profiling=false --v=1
}

start_scheduler() {
  running_pid kube-scheduler >/dev/null && return 0
  log "starting kube-scheduler"
  local kc="$CLUSTER_DIR/scheduler.kubeconfig"
  start_detached kube-scheduler "$K8S_BIN_DIR/kube-scheduler" \
    --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false --profiling=false --v=1
}

start_kubelet() {
  running_pid kubelet >/dev/null && return 0
  local root
  root="$(kubelet_cgroup_root)"
  ensure_cgroup_root "$root"
  write_configs "$root"
  log "starting kubelet (node $NODE_NAME, cgroup root $root)"
  mkdir -p "$KUBELET_DIR"
  start_detached kubelet "$K8S_BIN_DIR/kubelet" \
    --config "$CLUSTER_DIR/kubelet-config.yaml" \
    --kubeconfig "$CLUSTER_DIR/kubelet.kubeconfig" \
    --root-dir "$KUBELET_DIR" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --pod-infra-container-image "$PAUSE_IMAGE" \
    --v=1
}

start_kube_proxy() {
  running_pid kube-proxy >/dev/null && return 0
  log "starting kube-proxy (iptables mode)"
  start_detached kube-proxy "$K8S_BIN_DIR/kube-proxy" --config "$CLUSTER_DIR/kube-proxy-config.yaml" --v=1
}

start_coredns() {
  running_pid coredns >/dev/null && return 0
  log "starting CoreDNS ($NODE_IP:53)"
  start_detached coredns "$COREDNS_BIN" -conf "$CLUSTER_DIR/Corefile"
}

# NetworkPolicy enforcement: kube-router with only its network-policy controller
# (--run-firewall; no BGP routing, no service proxy: the bridge CNI and kube-proxy do those).
# Per pod that a policy selects it builds iptables chains and ipsets from the policies and
# sends the pod's traffic through them in FORWARD, and in INPUT/OUTPUT for connections with
# the node itself (the API server, kubelet and CoreDNS all listen here). Its identity: a client
# certificate (CN system:kube-router) bound to a ClusterRole with what it reads.
start_kube_router() {
  running_pid kube-router >/dev/null && return 0
  local kc="$CLUSTER_DIR/kube-router.kubeconfig"
  if [[ ! -f "$PKI_DIR/kube-router.crt" ]]; then
    new_cert kube-router "/CN=system:kube-router" "$(client_ext)"
    rm -f "$kc"
  fi
  write_kubeconfig "$kc" kube-router "$APISERVER_URL"
  KUBECTL apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "lamina:kube-router" }
rules:
  - { apiGroups: [""], resources: [pods, namespaces, nodes, services, endpoints], verbs: [get, list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch] }
  - { apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [get, list, watch] }
  - { apiGroups: ["", events.k8s.io], resources: [events], verbs: [create, patch, update] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "lamina:kube-router" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "lamina:kube-router" }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:kube-router" }]
EOF
  log "starting kube-router (network-policy controller only)"
  start_detached kube-router "$KUBE_ROUTER_BIN" --kubeconfig "$kc" --hostname-override "$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false --run-loadbalancer=false \
    --enable-ipv6=false --service-cluster-ip-range "$SERVICE_CIDR" \
    --health-port "$KUBE_ROUTER_HEALTH_PORT" --metrics-port 0 --v=1
}

# Images: the pause image is required; lamina/runtime:dev (and the operator image, once
# it exists) is built when its inputs changed, a failure there is reported but does not
# fail the cluster.
ensure_images() {
  bash "$REPO_ROOT/runtime-image/build/build-offline.sh" pause || die "pause image build/import failed"
  if [[ "${LAMINA_SKIP_IMAGES:-0}" == 1 ]]; then
    log "LAMINA_SKIP_IMAGES=1: not building lamina/runtime:dev"
  elif ! bash "$REPO_ROOT/runtime-image/build/build-offline.sh" runtime operator; then
    log "WARNING: runtime/operator image build failed; the cluster is up without them"
  fi
}

# ------------------------------------------------------------------------ main

local_up() {
  mkdir -p "$CLUSTER_DIR"
  exec 8>"$LOCK_FILE"
  flock 8
  echo local >"$CLUSTER_DIR/mode"

  if all_healthy; then
    # Warm path: only refresh images whose inputs changed (a no-op in the usual case).
    refresh_containerd_config
    ensure_images
    log "cluster already up ($(elapsed))"
    echo "KUBECONFIG=$ADMIN_KUBECONFIG"
    return 0
  fi

  install_dependencies

  # Leftovers of a cluster whose processes are gone (e.g. the machine that ran it
  # was stopped): tear them down before starting clean.
  if ! running_pid containerd >/dev/null && ! running_pid kubelet >/dev/null; then
    if findmnt -rn -o TARGET | grep -qE "^($CLUSTER_DIR|/run/lamina-cluster)/" ||
      ip link show "$BRIDGE" >/dev/null 2>&1 || pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" >/dev/null; then
      log "cleaning up leftovers of a previous run"
      cleanup_host_state
    fi
  fi

  ensure_pki
  ensure_kubeconfigs
  write_configs "$(kubelet_cgroup_root)"
  setup_network

  start_containerd
  start_etcd
  wait_for containerd 30 containerd_ready
  wait_for etcd 30 etcd_healthy
  start_apiserver
  ensure_images
  wait_for kube-apiserver 90 apiserver_ready
  log "apiserver ready ($(elapsed))"

  start_controller_manager
  start_scheduler
  start_kubelet
  start_kube_proxy
  start_coredns

  wait_for kube-controller-manager 60 controller_manager_healthy
  wait_for kube-scheduler 60 scheduler_healthy
  wait_for kubelet 60 kubelet_healthy
  wait_for kube-proxy 60 kube_proxy_healthy
  wait_for coredns 60 coredns_ready
  start_kube_router
  wait_for kube-router 60 kube_router_healthy
  wait_for kubelet 120 node_ready
  log "node $NODE_NAME Ready; cluster up ($(elapsed))"
  echo "KUBECONFIG=$ADMIN_KUBECONFIG"
}

if use_kind; then
  kind_up
else
  local_up
fi
