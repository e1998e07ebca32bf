#!/usr/bin/env bash
# `npm run up`: from a fresh machine to Lamina running, with an example invoked.
#
#   1. installs the npm dependencies when missing
#   2. brings up the local single-node cluster (scripts/cluster/up.sh; kind where a
#      Docker engine exists), or uses your current kubeconfig with LAMINA_USE_CURRENT_CONTEXT=1
#   3. bundles the programs and builds the images offline into the cluster's containerd (the
#      operator, lamina/runtime and lamina/runtime-java21; LAMINA_RUNTIME_IMAGES adds others)
#   4. installs the Helm chart (helm built from its Go module, cached)
#   5. applies the examples and invokes one through the gateway
#   6. prints KUBECONFIG=… and LAMINA_GATEWAY=… and writes them (and LAMINA_STORE_URL) to .lamina/env
#
# Idempotent: run it again after a change and it rebuilds what changed and upgrades.
# `npm run down` undoes it.
#
#   --with kafka,sqs,nats   also run those event servers (scripts/event-servers/up.sh) for event
#                      source mappings to read from
set -euo pipefail

WITH_SERVERS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --with) WITH_SERVERS+=("${2:?--with needs kafka, sqs, nats or a list like kafka,sqs,nats}") && shift ;;
    --with=*) WITH_SERVERS+=("${1#--with=}") ;;
    *) echo "[up] unknown argument: $1 (--with kafka,sqs,nats)" >&2 && exit 2 ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=versions.sh
. scripts/versions.sh

NAMESPACE=lamina-system
log() { echo "[up] $*" >&2; }

[[ -f node_modules/.package-lock.json ]] || npm ci --no-audit --no-fund >&2

# --- cluster
if [[ "${LAMINA_USE_CURRENT_CONTEXT:-0}" == 1 ]]; then
  export KUBECONFIG="${KUBECONFIG:-$HOME/.kube/config}"
  log "using the current context of $KUBECONFIG"
else
  KUBECONFIG="$(LAMINA_SKIP_IMAGES=1 bash scripts/cluster/up.sh | sed -n 's/^KUBECONFIG=//p' | tail -n 1)"
  export KUBECONFIG
fi
bash scripts/k8s/build.sh kubectl helm >&2
kubectl() { "$K8S_BIN_DIR/kubectl" "$@"; }
helm() { "$HELM_BIN_DIR/helm" "$@"; }

# --- images
log "bundling and building images"
node scripts/bundle.mjs >&2
built_offline=0
if [[ "${LAMINA_USE_CURRENT_CONTEXT:-0}" != 1 ]] && [[ "$(cat "$LAMINA_CACHE/cluster/mode" 2>/dev/null)" != kind ]]; then
  # lamina/runtime-java21 (java21) is always built beside lamina/runtime: a fresh install runs
  # Java functions. The images of the other runtime lines (java17, bookworm's and forky's
  # Node.js/Python) are optional, each adds minutes to a fresh build:
  # LAMINA_RUNTIME_IMAGES="runtime-java17 runtime-forky" (build-offline.sh target names) or
  # "all" builds them too.
  extra_images=(runtime-java21)
  if [[ "${LAMINA_RUNTIME_IMAGES:-}" == all ]]; then
    extra_images=(runtimes)
  else
    read -ra listed_images <<<"${LAMINA_RUNTIME_IMAGES:-}"
    for image in "${listed_images[@]}"; do
      [[ "$image" == runtime-java21 ]] || extra_images+=("$image")
    done
  fi
  # lamina/nats:dev (nats.enabled, values-ha.yaml) is always built: about 70 s once (nats-server
  # from the Go module proxy), about 1 s after, and the HA shape then works on any install.
  bash runtime-image/build/build-offline.sh runtime "${extra_images[@]}" operator nats >&2
  built_offline=1
fi

# --- volumes: the local cluster has no dynamic provisioner, so hostPath PersistentVolumes
# under the cache are pre-bound to the chart's claims (artifact store, async event queue,
# NATS JetStream when nats.enabled; a PV whose claim does not exist yet waits for it).
if [[ "${LAMINA_USE_CURRENT_CONTEXT:-0}" != 1 ]]; then
  for claim in lamina-store lamina-async lamina-nats; do
    dir="$LAMINA_CACHE/cluster/${claim#lamina-}"
    mkdir -p "$dir" && chown 993:993 "$dir"
    kubectl apply -f - >&2 <<YAML
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $claim
spec:
  capacity: { storage: 10Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ''
  hostPath: { path: $dir, type: Directory }
  claimRef: { namespace: $NAMESPACE, name: $claim }
YAML
  done
fi

# --- install: the gateway is a NodePort Service, reached at the node's address.
node_ip="$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
LAMINA_GATEWAY="http://$node_ip:30080"
# The images keep their :dev tag across builds; their IDs tell the chart when the content
# changed, so a run that rebuilt nothing restarts nothing (and the warm pool is replaced only
# when the runtime image changed).
image_id() { [[ "$built_offline" == 1 ]] && cat "$LAMINA_CACHE/images/archives/$1.tar.id" 2>/dev/null || true; }
operator_revision="$(image_id operator)"
runtime_revision="$(image_id runtime)"
nats_revision="$(image_id nats)"
# The other runtime images that were ever built here (a revision per image key).
RUNTIME_REVISION_ARGS=()
for key in bookworm forky java21 java17; do
  revision="$(image_id "runtime-$key")"
  [[ -z "$revision" ]] || RUNTIME_REVISION_ARGS+=(--set-string "images.runtimesRevisions.$key=$revision")
done
# The chart is secure by default (auth.invoke and auth.store: kubernetes). The local cluster
# opts out, explicitly, so the examples, curl and `lamina push` work without tokens.
LOCAL_AUTH_ARGS=(--set auth.invoke=none --set auth.store=none)
# The chart's default is two gateway replicas on NATS JetStream; the local install runs one with
# the SQLite queue (light on a laptop), or the highly available shape with LAMINA_HA=1.
if [[ "${LAMINA_HA:-0}" == 1 ]]; then
  LOCAL_SHAPE_ARGS=(-f charts/lamina/values-ha.yaml)
else
  LOCAL_SHAPE_ARGS=(--set gateway.replicas=1 --set async.backend=sqlite --set nats.enabled=false)
fi
# The local cluster's DNS is CoreDNS on the node itself, not a kube-dns pod: the function pods'
# NetworkPolicy lets them reach it (port 53 only; the node's other ports stay closed to them).
LOCAL_NET_ARGS=()
if [[ "${LAMINA_USE_CURRENT_CONTEXT:-0}" != 1 && "$(cat "$LAMINA_CACHE/cluster/mode" 2>/dev/null)" == local ]]; then
  # The test tier's registry (scripts/registry/up.sh) speaks plain HTTP on the node.
  LOCAL_NET_ARGS=(--set "networkPolicy.dnsCIDRs={$node_ip/32}"
    --set "operator.insecureRegistries={$node_ip:${LAMINA_REGISTRY_NODE_PORT:-30500}}")
fi
# Helm installs CRDs only on first install and never upgrades them: apply this checkout's, so
# a cluster that already had Lamina gets the current schemas (validation rules, new fields).
log "applying the CRDs"
kubectl apply --server-side --force-conflicts -f charts/lamina/crds/ >&2
log "installing the chart (local opt-out: auth.invoke=none auth.store=none — anyone who reaches the gateway or the store may call it)"
helm upgrade --install lamina charts/lamina --namespace "$NAMESPACE" --create-namespace \
  "${LOCAL_AUTH_ARGS[@]}" "${LOCAL_NET_ARGS[@]}" "${LOCAL_SHAPE_ARGS[@]}" \
  --set gateway.service.nodePort=30080 --set gateway.externalUrl="$LAMINA_GATEWAY" \
  --set-string images.operatorRevision="$operator_revision" \
  --set-string images.runtimeRevision="$runtime_revision" "${RUNTIME_REVISION_ARGS[@]}" \
  --set-string images.natsRevision="$nats_revision" --wait --timeout 5m >&2
if [[ -z "$operator_revision" ]]; then
  # Images built elsewhere (kind, a current context): no ID to compare, so restart to be sure.
  kubectl -n "$NAMESPACE" rollout restart deployment/lamina-operator deployment/lamina-gateway >&2
fi
kubectl -n "$NAMESPACE" rollout status deployment/lamina-operator deployment/lamina-gateway --timeout 180s >&2


# --- examples
log "applying the examples"
for example in calculator random-image nodejs-hello custom-runtime shared-code-layer; do
  kubectl apply -f "examples/$example/" >&2
done
bash examples/word-segmentation/build-layer.sh >&2
kubectl apply -f examples/word-segmentation/function.yaml >&2
kubectl wait --for=jsonpath='{.status.state}'=Active function/calculator --timeout=120s >&2

log "invoking the calculator: 6 multiply 7"
if ! curl -sS --fail-with-body "$LAMINA_GATEWAY/lambda-url/default/calculator/?num1=6&num2=7&operator=multiply" >&2; then
  echo >&2
  log "the calculator did not answer; the gateway's log tail:"
  kubectl -n "$NAMESPACE" logs deployment/lamina-gateway --tail 30 >&2 || true
  exit 1
fi
echo >&2

# The artifact store, for `npm run lamina -- push` from this machine (its ClusterIP is routed here).
LAMINA_STORE_URL="http://$(kubectl -n "$NAMESPACE" get svc lamina-store -o jsonpath='{.spec.clusterIP}'):8090"
mkdir -p .lamina
{
  echo '# Local install: auth.invoke=none auth.store=none (no token needed). The chart default is kubernetes; see SECURITY.md.'
  printf 'export KUBECONFIG=%s\nexport LAMINA_GATEWAY=%s\nexport LAMINA_STORE_URL=%s\n' \
    "$KUBECONFIG" "$LAMINA_GATEWAY" "$LAMINA_STORE_URL"
} >.lamina/env
if [[ ${#WITH_SERVERS[@]} -gt 0 ]]; then
  log "event servers: ${WITH_SERVERS[*]}"
  KUBECONFIG="$KUBECONFIG" bash scripts/event-servers/up.sh "${WITH_SERVERS[@]}" | sed -n 's/^\(KAFKA_BOOTSTRAP\|SQS_ENDPOINT\|NATS_URL\)=/export &/p' >>.lamina/env
fi
log "ready; load the environment with: source .lamina/env"
log "note: this local install has authentication off (auth.invoke=none, auth.store=none); a plain helm install has it on"
echo "KUBECONFIG=$KUBECONFIG"
echo "LAMINA_GATEWAY=$LAMINA_GATEWAY"
