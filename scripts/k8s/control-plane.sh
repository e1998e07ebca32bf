#!/usr/bin/env bash
# A real Kubernetes control plane (etcd + kube-apiserver) for integration tests.
#
# Usage: scripts/k8s/control-plane.sh up | down [--purge] | status | env
#   up      build missing binaries, start etcd and kube-apiserver, wait for /readyz,
#           print KUBECONFIG=<path> on stdout (progress goes to stderr). Idempotent:
#           returns at once when both are already running and ready.
#   down    stop both processes; --purge also deletes the etcd data.
#   status  print the state of each process and of /readyz.
#   env     print "export KUBECONFIG=<path>".
#
# Everything listens on 127.0.0.1 only, on non-default ports, so this never clashes
# with a full cluster (apiserver on 6443, etcd on 2379/2380) started later on the same
# machine. State (pki, etcd data, logs, pidfiles, kubeconfig) is kept in
# $LAMINA_CACHE/control-plane (see scripts/versions.sh).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/versions.sh
. "$SCRIPT_DIR/../versions.sh"

# Overridable, with the ports below, to run a second, independent instance.
STATE_DIR="${LAMINA_CP_STATE_DIR:-$LAMINA_CACHE/control-plane}"
PKI_DIR="$STATE_DIR/pki"
ETCD_DATA_DIR="$STATE_DIR/etcd-data"
KUBECONFIG_PATH="$STATE_DIR/kubeconfig"
LOCK_FILE="$STATE_DIR/control-plane.lock"

ETCD_CLIENT_PORT="${LAMINA_CP_ETCD_CLIENT_PORT:-23790}"
ETCD_PEER_PORT="${LAMINA_CP_ETCD_PEER_PORT:-23800}"
APISERVER_PORT="${LAMINA_CP_APISERVER_PORT:-16443}"
ETCD_URL="http://127.0.0.1:$ETCD_CLIENT_PORT"
APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"

ETCD_BIN="$ETCD_BIN_DIR/etcd"
APISERVER_BIN="$K8S_BIN_DIR/kube-apiserver"

log() { echo "[control-plane] $*" >&2; }
die() { echo "[control-plane] error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- processes

pidfile() { echo "$STATE_DIR/$1.pid"; }

# Prints the pid of a running component, or fails. The pid must still belong to our
# binary (checked through /proc), so a recycled pid is never mistaken for ours.
running_pid() {
  local name="$1" pid exe
  [[ -f "$(pidfile "$name")" ]] || return 1
  pid="$(cat "$(pidfile "$name")")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  [[ "$(basename "$exe")" == "$name" ]] || return 1
  echo "$pid"
}

# Starts a binary in its own session (setsid) with output to a log file, so it
# survives the calling shell and test runner exiting and gets no terminal signals.
# A background job of a non-interactive shell is not a process-group leader, so
# setsid execs the binary in place and $! is the binary's own pid.
# 9>&- : the child must not inherit our lock's file descriptor, or the lock would stay
# held for as long as the daemon runs and every later up/down would block.
start_detached() {
  local name="$1"
  shift
  setsid "$@" >>"$STATE_DIR/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pidfile "$name")"
}

stop_component() {
  local name="$1" pid="" i
  if pid="$(running_pid "$name")"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do # up to 10s for a clean shutdown
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not exit after 10s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
  fi
  # Remove the pidfile only if it is still the one we acted on.
  if [[ -z "${pid:-}" || "$(cat "$(pidfile "$name")" 2>/dev/null)" == "$pid" ]]; then
    rm -f "$(pidfile "$name")"
  fi
}

# True when something (not necessarily us) accepts connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------- health checks

etcd_healthy() {
  curl -fsS --max-time 2 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"'
}

apiserver_ready() {
  [[ -f "$PKI_DIR/admin.crt" ]] || return 1
  curl -fsS --max-time 3 --cacert "$PKI_DIR/ca.crt" \
    --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" \
    "$APISERVER_URL/readyz" >/dev/null 2>&1
}

# wait_for <seconds> <component> <check function>: fails early if the process died.
wait_for() {
  local timeout="$1" name="$2" check="$3" deadline=$((SECONDS + $1))
  local pid
  pid="$(cat "$(pidfile "$name")")"
  until "$check"; do
    # kill -0 rather than running_pid: right after the fork /proc/<pid>/exe may still
    # be bash or setsid for a moment.
    kill -0 "$pid" 2>/dev/null || {
      tail -n 20 "$STATE_DIR/$name.log" >&2
      die "$name exited during startup (log: $STATE_DIR/$name.log)"
    }
    ((SECONDS < deadline)) || {
      tail -n 20 "$STATE_DIR/$name.log" >&2
      die "$name not ready after ${timeout}s (log: $STATE_DIR/$name.log)"
    }
    sleep 0.2
  done
}

# ---------------------------------------------------------------- pki + kubeconfig

# Test-only PKI, generated once and kept with the state: a CA, the apiserver serving
# certificate, an admin client certificate (O=system:masters, so RBAC lets it do
# anything) and the service-account signing key pair.
ensure_pki() {
  [[ -f "$PKI_DIR/.complete" ]] && return
  log "generating pki in $PKI_DIR"
  rm -rf "$PKI_DIR"
  mkdir -p "$PKI_DIR"
  (
    cd "$PKI_DIR"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=lamina-test-ca" 2>/dev/null

    # SANs: how tests reach it (127.0.0.1, localhost), plus the in-cluster names and
    # the first service IP of the range, as a real apiserver certificate has.
    cat >apiserver.ext <<'EOF'
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
EOF
    issue_cert apiserver "/CN=kube-apiserver" apiserver.ext

    printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >client.ext
    issue_cert admin "/O=system:masters/CN=lamina-admin" client.ext

    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext ./*.srl
  )
  touch "$PKI_DIR/.complete"
}

# issue_cert <name> <subject> <extfile>: key + certificate signed by the CA (cwd = pki).
issue_cert() {
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$1.crt" -days 3650 -extfile "$3" 2>/dev/null
}

# Self-contained kubeconfig (certificates embedded), written atomically.
write_kubeconfig() {
  local tmp="$KUBECONFIG_PATH.tmp.$$"
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: lamina-test
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(base64 -w0 <"$PKI_DIR/ca.crt")
users:
- name: lamina-admin
  user:
    client-certificate-data: $(base64 -w0 <"$PKI_DIR/admin.crt")
    client-key-data: $(base64 -w0 <"$PKI_DIR/admin.key")
contexts:
- name: lamina-test
  context:
    cluster: lamina-test
    user: lamina-admin
current-context: lamina-test
EOF
  chmod 600 "$tmp"
  mv -f "$tmp" "$KUBECONFIG_PATH"
}

# ---------------------------------------------------------------- start

start_etcd() {
  running_pid etcd >/dev/null && etcd_healthy && return
  stop_component etcd # a stale or unhealthy one
  local p
  for p in "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT"; do
    port_in_use "$p" && die "port 127.0.0.1:$p is used by another process"
  done
  log "starting etcd on $ETCD_URL"
  mkdir -p "$ETCD_DATA_DIR"
  chmod 700 "$ETCD_DATA_DIR"
  # --unsafe-no-fsync: throwaway test data, and fsync dominates etcd latency on slow
  # CI disks. Metrics stay on the client port; nothing else is opened.
  start_detached etcd "$ETCD_BIN" \
    --name lamina-test \
    --data-dir "$ETCD_DATA_DIR" \
    --listen-client-urls "$ETCD_URL" \
    --advertise-client-urls "$ETCD_URL" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "lamina-test=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync \
    --log-level warn
  wait_for 60 etcd etcd_healthy
}

start_apiserver() {
  running_pid kube-apiserver >/dev/null && apiserver_ready && return
  stop_component kube-apiserver
  port_in_use "$APISERVER_PORT" && die "port 127.0.0.1:$APISERVER_PORT is used by another process"
  log "starting kube-apiserver on $APISERVER_URL"
  # No kubelets here, so no --kubelet-* flags and no Node authorizer. The service range
  # only has to exist: no traffic ever goes to it.
  start_detached kube-apiserver "$APISERVER_BIN" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" \
    --etcd-servers="$ETCD_URL" \
    --tls-cert-file="$PKI_DIR/apiserver.crt" \
    --tls-private-key-file="$PKI_DIR/apiserver.key" \
    --client-ca-file="$PKI_DIR/ca.crt" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI_DIR/sa.pub" \
    --service-account-signing-key-file="$PKI_DIR/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --profiling=false
  wait_for 180 kube-apiserver apiserver_ready
}

# ---------------------------------------------------------------- commands

# Serialise up/down so parallel test processes don't start two of everything.
take_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$LOCK_FILE"
  flock 9
}

cmd_up() {
  take_lock
  if running_pid etcd >/dev/null && running_pid kube-apiserver >/dev/null && apiserver_ready &&
    [[ -f "$KUBECONFIG_PATH" ]]; then
    echo "KUBECONFIG=$KUBECONFIG_PATH"
    return
  fi
  local start=$SECONDS
  # Builds only what is missing; prints one line per component.
  "$SCRIPT_DIR/build.sh" etcd kube-apiserver kubectl
  ensure_pki
  write_kubeconfig
  start_etcd
  start_apiserver
  log "ready in $((SECONDS - start))s"
  echo "KUBECONFIG=$KUBECONFIG_PATH"
}

cmd_down() {
  local purge=false
  case "${1:-}" in
    "") ;;
    --purge) purge=true ;;
    *) die "usage: $0 down [--purge]" ;;
  esac
  take_lock
  # apiserver first: it would otherwise spin on a vanished etcd.
  stop_component kube-apiserver
  stop_component etcd
  if $purge; then
    log "deleting etcd data $ETCD_DATA_DIR"
    rm -rf "$ETCD_DATA_DIR"
  fi
}

cmd_status() {
  local name pid
  for name in etcd kube-apiserver; do
    if pid="$(running_pid "$name")"; then
      echo "$name: running (pid $pid)"
    else
      echo "$name: stopped"
    fi
  done
  if apiserver_ready; then
    echo "readyz: ok ($APISERVER_URL)"
  else
    echo "readyz: not ready ($APISERVER_URL)"
  fi
  echo "kubeconfig: $KUBECONFIG_PATH"
  echo "state: $STATE_DIR"
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    env) echo "export KUBECONFIG=$KUBECONFIG_PATH" ;;
    *) die "usage: $0 up | down [--purge] | status | env" ;;
  esac
}

main "$@"
