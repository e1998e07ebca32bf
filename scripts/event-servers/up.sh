#!/usr/bin/env bash
# Runs the event servers that event source mappings read from, in the cluster of $KUBECONFIG
# (default: the local cluster, started if needed), namespace lamina-events:
#   kafka  Apache Kafka 4, KRaft, one node          kafka.lamina-events:9092
#   sqs    ElasticMQ, an SQS-compatible server      http://sqs.lamina-events:9324
#   nats   NATS with JetStream                      nats://nats.lamina-events:4222
# Builds their images offline into the local cluster's containerd (build-offline.sh), applies
# manifests/, and waits until each is ready; a server that does not get ready fails with its
# pod's log tail. Idempotent: unchanged images restart nothing.
#
# Usage: scripts/event-servers/up.sh kafka sqs nats      (or kafka,sqs,nats)
# Prints KUBECONFIG=… and, per server, the address the node reaches it at:
#   KAFKA_BOOTSTRAP=<ip>:9092   SQS_ENDPOINT=http://<ip>:9324   NATS_URL=nats://<ip>:4222
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../versions.sh
. "$ROOT/scripts/versions.sh"
NAMESPACE=lamina-events
READY_TIMEOUT="${LAMINA_EVENT_SERVERS_TIMEOUT:-180s}"
log() { echo "[event-servers] $*" >&2; }

servers=()
for arg in "$@"; do
  IFS=, read -ra names <<<"$arg"
  for name in "${names[@]}"; do
    case "$name" in
      kafka | sqs | nats) [[ " ${servers[*]-} " == *" $name "* ]] || servers+=("$name") ;;
      '') ;;
      *) log "unknown server: $name (kafka, sqs, nats)" && exit 2 ;;
    esac
  done
done
[[ ${#servers[@]} -gt 0 ]] || { log "usage: $0 kafka sqs nats" && exit 2; }

local_cluster=1
if [[ "${LAMINA_USE_CURRENT_CONTEXT:-0}" == 1 ]]; then
  local_cluster=0
  export KUBECONFIG="${KUBECONFIG:-$HOME/.kube/config}"
elif [[ -z "${KUBECONFIG:-}" || ! -f "$KUBECONFIG" ]]; then
  KUBECONFIG="$(LAMINA_SKIP_IMAGES=1 bash "$ROOT/scripts/cluster/up.sh" | sed -n 's/^KUBECONFIG=//p' | tail -n 1)"
  export KUBECONFIG
fi
[[ "$(cat "$LAMINA_CACHE/cluster/mode" 2>/dev/null)" != kind ]] || local_cluster=0
bash "$ROOT/scripts/k8s/build.sh" kubectl >&2
kubectl() { "$K8S_BIN_DIR/kubectl" "$@"; }

# A digest of what a server is made of (its Dockerfile, pom, config, manifest). A server whose
# Deployment already carries it and is ready is left alone: no build, no apply (seconds, and
# no wait for the image build lock another build may hold).
inputs_of() {
  # nats-server is built from its Go module by build-offline.sh: its manifest is its only input here.
  if [[ -d "$HERE/$1" ]]; then
    (cd "$HERE" && cat fetch-jars.sh "$1"/* "manifests/$1.yaml") | sha256sum | cut -c1-16
  else
    sha256sum <"$HERE/manifests/$1.yaml" | cut -c1-16
  fi
}
stale=()
for name in "${servers[@]}"; do
  state="$(kubectl -n "$NAMESPACE" get deployment "$name" --ignore-not-found \
    -o jsonpath='{.metadata.annotations.lamina\.dev/inputs} {.status.readyReplicas}' 2>/dev/null || true)"
  [[ "$state" == "$(inputs_of "$name") 1" ]] || stale+=("$name")
done

if [[ ${#stale[@]} -gt 0 ]]; then
  if [[ "$local_cluster" == 1 ]]; then
    bash "$ROOT/runtime-image/build/build-offline.sh" "${stale[@]}" >&2
  else
    log "not the local cluster: lamina/<server>:dev must already be loaded (build scripts/event-servers/<server>/Dockerfile)"
  fi
  kubectl apply -f "$HERE/manifests/namespace.yaml" >&2
  for name in "${stale[@]}"; do
    # The tag stays :dev across builds; the image's ID in the pod template rolls the pod when
    # the content changed, and leaves it alone when not.
    id="$(cat "$LAMINA_CACHE/images/archives/$name.tar.id" 2>/dev/null || echo external)"
    sed -e "s/@INPUTS@/$(inputs_of "$name")/" -e "s/@IMAGE_ID@/${id:0:24}/" "$HERE/manifests/$name.yaml" |
      kubectl apply -f - >&2
  done
fi

failed=0
for name in "${servers[@]}"; do
  if ! kubectl -n "$NAMESPACE" rollout status "deployment/$name" --timeout "$READY_TIMEOUT" >&2; then
    log "$name is not ready; its pods and log tail:"
    kubectl -n "$NAMESPACE" get pods -l "app.kubernetes.io/name=$name" -o wide >&2 || true
    kubectl -n "$NAMESPACE" describe pods -l "app.kubernetes.io/name=$name" 2>&1 | tail -n 25 >&2 || true
    kubectl -n "$NAMESPACE" logs -l "app.kubernetes.io/name=$name" --tail 40 --all-containers >&2 || true
    failed=1
  fi
done
[[ "$failed" == 0 ]] || exit 1

echo "KUBECONFIG=$KUBECONFIG"
for name in "${servers[@]}"; do
  ip="$(kubectl -n "$NAMESPACE" get service "$name" -o jsonpath='{.spec.clusterIP}')"
  case "$name" in
    kafka) echo "KAFKA_BOOTSTRAP=$ip:9092" ;;
    sqs) echo "SQS_ENDPOINT=http://$ip:9324" ;;
    nats) echo "NATS_URL=nats://$ip:4222" ;;
  esac
done
