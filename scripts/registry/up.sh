#!/usr/bin/env bash
# The test tier's OCI registry in the local cluster (idempotent; the e2e tests call it):
# distribution's registry (lamina/registry:dev, built offline from its Go module) as a
# Deployment in namespace lamina-registry, exposed as a NodePort on the node IP. The node's
# containerd pulls from it over plain HTTP (a hosts.toml for that address); buildah pushes
# to it with --tls-verify=false. Blobs live in an emptyDir: a restarted registry is empty.
#
# Usage: scripts/registry/up.sh   (needs the cluster: scripts/cluster/up.sh)
# Prints `REGISTRY=<host:port>` as the last line of stdout.
set -euo pipefail
# shellcheck source=../cluster/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../cluster/lib.sh"

NAMESPACE=lamina-registry
NODE_PORT="${LAMINA_REGISTRY_NODE_PORT:-30500}"
ADDRESS="$NODE_IP:$NODE_PORT"
kc() { "$KUBECTL_BIN" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

grep -q 'config_path' "$CONTAINERD_CONFIG" 2>/dev/null ||
  die "containerd's config has no registry config_path: run scripts/cluster/up.sh first"
bash "$REPO_ROOT/runtime-image/build/build-offline.sh" registry

# containerd reads hosts.toml at every pull: plain HTTP to this one address only.
mkdir -p "$CONTAINERD_CERTS_DIR/$ADDRESS"
cat >"$CONTAINERD_CERTS_DIR/$ADDRESS/hosts.toml.tmp" <<TOML
# Written by scripts/registry/up.sh: the test tier's registry serves plain HTTP.
server = "http://$ADDRESS"

[host."http://$ADDRESS"]
  capabilities = ["pull", "resolve"]
TOML
mv -f "$CONTAINERD_CERTS_DIR/$ADDRESS/hosts.toml.tmp" "$CONTAINERD_CERTS_DIR/$ADDRESS/hosts.toml"

kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $NAMESPACE
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: registry
  namespace: $NAMESPACE
  labels: { app.kubernetes.io/name: registry }
spec:
  replicas: 1
  strategy: { type: Recreate }
  selector:
    matchLabels: { app.kubernetes.io/name: registry }
  template:
    metadata:
      labels: { app.kubernetes.io/name: registry }
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        fsGroup: 65532
        seccompProfile: { type: RuntimeDefault }
      containers:
        - name: registry
          image: $REGISTRY_IMAGE
          imagePullPolicy: Never
          ports: [{ name: http, containerPort: 5000 }]
          readinessProbe:
            httpGet: { path: /v2/, port: 5000 }
            periodSeconds: 1
          resources:
            requests: { cpu: 10m, memory: 64Mi }
            limits: { memory: 512Mi }
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
          volumeMounts: [{ name: data, mountPath: /var/lib/registry }]
      volumes:
        - name: data
          emptyDir: { sizeLimit: 4Gi }
---
apiVersion: v1
kind: Service
metadata:
  name: registry
  namespace: $NAMESPACE
spec:
  type: NodePort
  selector: { app.kubernetes.io/name: registry }
  ports: [{ name: http, port: 5000, targetPort: 5000, nodePort: $NODE_PORT }]
YAML

kc -n "$NAMESPACE" rollout status deployment/registry --timeout=90s >&2
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "http://$ADDRESS/v2/" && break
  sleep 0.2
done
curl -fsS -o /dev/null "http://$ADDRESS/v2/" || die "registry does not answer on http://$ADDRESS/v2/"
log "registry: http://$ADDRESS (namespace $NAMESPACE)"
echo "REGISTRY=$ADDRESS"
