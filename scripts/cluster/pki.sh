# shellcheck shell=bash
# The cluster's PKI, made with openssl (sourced by up.sh after lib.sh). One CA signs
# every certificate; identities follow the Kubernetes conventions so that the Node
# authorizer and the default RBAC bindings apply:
#   kube-apiserver            serving cert (127.0.0.1, the node IP, the kubernetes Service IP)
#   apiserver-kubelet-client  the apiserver's client cert towards kubelets (system:masters)
#   admin                     kubernetes-admin, O=system:masters  -> admin.kubeconfig
#   controller-manager        system:kube-controller-manager
#   scheduler                 system:kube-scheduler
#   kube-proxy                system:kube-proxy (bound to system:node-proxier by default)
#   kubelet                   system:node:<node>, O=system:nodes (Node authorizer)
#   kubelet-serving           the kubelet's serving cert, so `kubectl logs/exec` verify it
#   sa.key/sa.pub             service-account token signing key
# Certificates are made once and kept; a change of PKI_LAYOUT below regenerates them.

PKI_LAYOUT="v1 $NODE_NAME $NODE_IP $KUBERNETES_SERVICE_IP"

# new_cert <name> <subject> <extensions>   (EC P-256 keys: fast to make, universally supported)
new_cert() {
  local name="$1" subj="$2" ext="$3"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI_DIR/$name.key" -out "$PKI_DIR/$name.csr" -subj "$subj" 2>/dev/null
  printf '%s\n' "$ext" >"$PKI_DIR/$name.ext"
  openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$PKI_DIR/$name.ext" -out "$PKI_DIR/$name.crt" 2>/dev/null
  rm -f "$PKI_DIR/$name.csr" "$PKI_DIR/$name.ext"
  chmod 600 "$PKI_DIR/$name.key"
}

client_ext() {
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
}

server_ext() {
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$1"
}

ensure_pki() {
  if [[ -f "$PKI_DIR/layout" && "$(cat "$PKI_DIR/layout")" == "$PKI_LAYOUT" ]]; then
    return 0
  fi
  log "generating the PKI in $PKI_DIR"
  rm -rf "$PKI_DIR"
  mkdir -p "$PKI_DIR"
  chmod 700 "$PKI_DIR"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI_DIR/ca.key" -out "$PKI_DIR/ca.crt" -days 3650 -sha256 -subj "/CN=lamina-cluster-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  chmod 600 "$PKI_DIR/ca.key"

  new_cert kube-apiserver "/CN=kube-apiserver" "$(server_ext "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$NODE_IP,IP:$KUBERNETES_SERVICE_IP")"
  new_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$(client_ext)"
  new_cert admin "/O=system:masters/CN=kubernetes-admin" "$(client_ext)"
  new_cert controller-manager "/CN=system:kube-controller-manager" "$(client_ext)"
  new_cert scheduler "/CN=system:kube-scheduler" "$(client_ext)"
  new_cert kube-proxy "/CN=system:kube-proxy" "$(client_ext)"
  new_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$(client_ext)"
  new_cert kubelet-serving "/CN=$NODE_NAME" "$(server_ext "DNS:$NODE_NAME,DNS:localhost,IP:$NODE_IP,IP:127.0.0.1")"

  openssl genrsa -out "$PKI_DIR/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null
  chmod 600 "$PKI_DIR/sa.key"
  echo "$PKI_LAYOUT" >"$PKI_DIR/layout"
  # Kubeconfigs embed the certificates: regenerate them with the PKI.
  rm -f "$CLUSTER_DIR"/*.kubeconfig
}

# write_kubeconfig <file> <cert name> <server url>: a self-contained kubeconfig.
write_kubeconfig() {
  local file="$1" cert="$2" server="$3"
  [[ -f "$file" ]] && return 0
  local b64="base64 -w0"
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: lamina
  cluster:
    server: $server
    certificate-authority-data: $($b64 "$PKI_DIR/ca.crt")
users:
- name: $cert
  user:
    client-certificate-data: $($b64 "$PKI_DIR/$cert.crt")
    client-key-data: $($b64 "$PKI_DIR/$cert.key")
contexts:
- name: lamina
  context:
    cluster: lamina
    user: $cert
current-context: lamina
EOF
  chmod 600 "$file.tmp"
  mv -f "$file.tmp" "$file"
}

ensure_kubeconfigs() {
  write_kubeconfig "$ADMIN_KUBECONFIG" admin "$APISERVER_URL"
  local c
  for c in controller-manager scheduler kube-proxy kubelet; do
    write_kubeconfig "$CLUSTER_DIR/$c.kubeconfig" "$c" "$APISERVER_URL"
  done
}
