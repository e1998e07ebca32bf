# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this
# Shared settings and helpers of the single-node e2e cluster (scripts/cluster/*.sh) and
# of the offline image build (runtime-image/build/build-offline.sh). Source it.
#
# Layout (everything outside the repo, under $LAMINA_CACHE from scripts/versions.sh):
#   $CLUSTER_DIR/pki            CA and every component's certificate (openssl)
#   $CLUSTER_DIR/etcd-data      etcd's data (kept across down/up; `down --purge` wipes it)
#   $CLUSTER_DIR/containerd     containerd root (images, snapshots) and state (sockets)
#   $CLUSTER_DIR/kubelet        the kubelet's root dir (pod volumes)
#   $CLUSTER_DIR/cni            CNI config and host-local IPAM state
#   $CLUSTER_DIR/logs, *.pid    one log and pidfile per component
#   $CLUSTER_DIR/admin.kubeconfig   what `up` prints as KUBECONFIG=...

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LIB_DIR/../.." && pwd)"
# shellcheck source=../versions.sh
. "$REPO_ROOT/scripts/versions.sh"

CLUSTER_DIR="$LAMINA_CACHE/cluster"
PKI_DIR="$CLUSTER_DIR/pki"
LOG_DIR="$CLUSTER_DIR/logs"
RUN_DIR="$CLUSTER_DIR/run"
ETCD_DATA_DIR="$CLUSTER_DIR/etcd-data"
CONTAINERD_DIR="$CLUSTER_DIR/containerd"
CONTAINERD_ROOT="$CONTAINERD_DIR/root"
CONTAINERD_STATE="$CONTAINERD_DIR/state"
CONTAINERD_CONFIG="$CONTAINERD_DIR/config.toml"
# containerd's per-registry hosts.toml files (config_path of the CRI registry settings).
CONTAINERD_CERTS_DIR="$CONTAINERD_DIR/certs.d"
# A dedicated socket: never the system's /run/containerd/containerd.sock. Unix socket
# paths are limited to 107 bytes, so it lives under /run, not under the cache dir.
CONTAINERD_SOCK="${LAMINA_CONTAINERD_SOCK:-/run/lamina-cluster/containerd.sock}"
RUNC_ROOT="/run/lamina-cluster/runc"
KUBELET_DIR="$CLUSTER_DIR/kubelet"
CNI_DIR="$CLUSTER_DIR/cni"
CNI_CONF_DIR="$CNI_DIR/net.d"
CNI_BIN_DIR="/usr/lib/cni" # Debian's containernetworking-plugins
CNI_NETWORK_NAME="lamina"
ADMIN_KUBECONFIG="$CLUSTER_DIR/admin.kubeconfig"
LOCK_FILE="$CLUSTER_DIR/lock"

# Network. The node's address is the bridge gateway: a host-local address that pods and
# the host reach directly, and nothing outside this machine does.
NODE_NAME="${LAMINA_NODE_NAME:-lamina-node}"
BRIDGE="cni0"
POD_CIDR="10.88.0.0/16"
NODE_IP="10.88.0.1"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SERVICE_IP="10.96.0.1"
CLUSTER_DOMAIN="cluster.local"
APISERVER_PORT=6443
APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
# Ports that must not be reachable from outside the machine (filtered in INPUT).
PROTECTED_TCP_PORTS="$APISERVER_PORT,10250,20244"

# No registry is reachable: the sandbox ("pause") image is built locally and named under
# localhost/, so even a mistaken pull could only ever go to the loopback address.
PAUSE_IMAGE="localhost/lamina/pause:3.10"
RUNTIME_IMAGE="docker.io/lamina/runtime:dev"
OPERATOR_IMAGE="docker.io/lamina/operator:dev"
NATS_IMAGE="docker.io/lamina/nats:dev"
REGISTRY_IMAGE="docker.io/lamina/registry:dev"

# Where the offline image build keeps its state (debootstrap tarballs, buildah storage,
# exported archives).
IMAGES_DIR="$LAMINA_CACHE/images"
IMAGE_ARCHIVE_DIR="$IMAGES_DIR/archives"

# Binaries.
ETCD_BIN="$ETCD_BIN_DIR/etcd"
KUBECTL_BIN="$K8S_BIN_DIR/kubectl"
COREDNS_BIN="$COREDNS_BIN_DIR/coredns"
KUBE_ROUTER_BIN="$KUBE_ROUTER_BIN_DIR/kube-router"
# kube-router's /healthz (it listens on every address: filtered in INPUT like the others).
KUBE_ROUTER_HEALTH_PORT=20244

log() { echo "[cluster] $*" >&2; }
die() {
  echo "[cluster] error: $*" >&2
  exit 1
}

# Installs Debian packages whose command is missing: "cmd:package ...".
ensure_packages() {
  local pair cmd pkg missing=()
  for pair in "$@"; do
    cmd="${pair%%:*}"
    pkg="${pair#*:}"
    if [[ "$cmd" == /* ]]; then
      [[ -e "$cmd" ]] || missing+=("$pkg")
    else
      command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing Debian packages: ${missing[*]}"
  # policy-rc.d-style guard: packages like containerd must not start a system daemon.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
    die "apt-get install ${missing[*]} failed"
}

# ------------------------------------------------------------------ processes

pidfile() { echo "$RUN_DIR/$1.pid"; }

# Prints the pid of a running component or fails. The pid must still be our binary.
running_pid() {
  local name="$1" pid exe
  [[ -f "$(pidfile "$name")" ]] || return 1
  pid="$(cat "$(pidfile "$name")")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  [[ "$(basename "${exe% (deleted)}")" == "$name" ]] || return 1
  echo "$pid"
}

# Starts a binary in its own session with output to its log, so it outlives the calling
# shell; $! is the binary's own pid (setsid execs in place in a non-interactive shell).
start_detached() {
  local name="$1"
  shift
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  echo "---- $(date -Is) starting: $*" >>"$LOG_DIR/$name.log"
  # 3>&- … 9>&-: the daemons must not inherit (and hold for their whole life) a lock descriptor,
  # neither up/build's own (8, 9) nor one a caller's `flock <file> npm run up` passed down.
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  echo $! >"$(pidfile "$name")"
}

# Alive = exists and is not a zombie. The daemons' parent (the up.sh that started them)
# is gone, so a dead daemon waits as a zombie until PID 1 reaps it, which can take a
# while on this machine; kill -0 alone would count it as still running.
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

stop_component() {
  local name="$1" timeout="${2:-10}" pid i started=$SECONDS
  if pid="$(running_pid "$name")"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 20; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then
      log "$name did not exit after ${timeout}s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while alive "$pid"; do sleep 0.05; done
    fi
    ((SECONDS - started < 3)) || log "$name took $((SECONDS - started))s to stop"
  fi
  rm -f "$(pidfile "$name")"
}

# containerd is healthy when its API answers on our socket.
containerd_ready() {
  [[ -S "$CONTAINERD_SOCK" ]] && ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1
}

ctr_k8s() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# Digest containerd holds for an image name (empty when absent).
containerd_image_digest() {
  ctr_k8s images ls "name==$1" 2>/dev/null | awk 'NR==2 {print $3}'
}

# Imports a docker-archive tarball (written by build-offline.sh together with
# "<archive>.id", a hash of its content) into containerd's k8s.io namespace, the one the
# CRI plugin serves. Skipped when this very archive was imported before and containerd
# still has the digest it produced.
import_image_archive() {
  local archive="$1" name="$2" id have
  [[ -f "$archive" ]] || { log "no archive $archive"; return 1; }
  id="$(cat "$archive.id" 2>/dev/null || sha256sum "$archive" | cut -d' ' -f1)"
  have="$(containerd_image_digest "$name")"
  if [[ -n "$have" && "$(cat "$archive.imported" 2>/dev/null)" == "$id $have" ]]; then
    log "image $name: up to date in containerd"
    return 0
  fi
  log "image $name: importing into containerd (k8s.io)"
  ctr_k8s images import "$archive" >/dev/null || return 1
  have="$(containerd_image_digest "$name")"
  [[ -n "$have" ]] || { log "import of $archive did not create $name"; return 1; }
  echo "$id $have" >"$archive.imported"
}
