# shellcheck shell=bash
# shellcheck disable=SC2034  # every variable here is used by the scripts that source this file
# Single source of truth for the versions of third-party components that Lamina's
# scripts build or run. Source it:  . "$(dirname "$0")/../versions.sh"
# Everything is built from the Go module proxy (no git clones, no release binaries).

# Kubernetes 1.32: the e2e cluster runs its kubelet against Debian bookworm's
# containerd 1.6.x on a cgroup-v1 host; 1.35+ refuses cgroup v1 by default and drops
# containerd 1.x, 1.32 supports both cleanly.
K8S_VERSION=v1.32.13
# The k8s.io/* staging modules (k8s.io/api, client-go, ...) are tagged v0.<minor>.<patch>.
K8S_STAGING_VERSION=v0.32.13
# Staging modules whose v0.32.13 zip the reachable module proxy does not serve: we pin
# the nearest lower v0.32.x patch it does serve (checked against .../@v/<ver>.zip).
# These are small libraries (config API types, CRI client, CSI translation,
# EndpointSlice helpers); a compile against k8s.io/kubernetes v1.32.13 proves the APIs
# still match. Format: "<module>=<version> ...".
K8S_STAGING_OVERRIDES="cri-client=v0.32.10 csi-translation-lib=v0.32.11 endpointslice=v0.32.6 kube-controller-manager=v0.32.6 kube-proxy=v0.32.7 kube-scheduler=v0.32.10"
# Staging modules never imported by any binary we build (examples only); the proxy does
# not serve v0.32.x for all of them, so build.sh replaces them with an empty local stub.
K8S_STAGING_STUBS="sample-apiserver sample-cli-plugin sample-controller"

# etcd: latest v3.5.x (the line Kubernetes 1.32 is tested with).
ETCD_VERSION=v3.5.35

# Helm: latest v3.x (helm.sh/helm/v3).
HELM_VERSION=v3.22.0

# Where built binaries and runtime state live (outside the repo, shared across clones).
LAMINA_CACHE="${LAMINA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lamina}"
K8S_BIN_DIR="$LAMINA_CACHE/k8s/$K8S_VERSION/bin"
ETCD_BIN_DIR="$LAMINA_CACHE/etcd/$ETCD_VERSION/bin"
HELM_BIN_DIR="$LAMINA_CACHE/helm/$HELM_VERSION/bin"

# ---- single-node e2e cluster (scripts/cluster) and offline images (runtime-image/build)
# CoreDNS: cluster DNS, built from its Go module and run as a host process by up.sh.
COREDNS_VERSION=v1.12.4
COREDNS_BIN_DIR="$LAMINA_CACHE/coredns/$COREDNS_VERSION/bin"
# NATS server with JetStream: the async event queue of a gateway with several replicas
# (chart: nats.enabled), image lamina/nats:dev built offline from this binary.
NATS_SERVER_VERSION=v2.15.3
NATS_SERVER_BIN_DIR="$LAMINA_CACHE/nats-server/$NATS_SERVER_VERSION/bin"
# The OCI registry of the test tier (github.com/distribution/distribution, cmd/registry): the
# e2e tests push images built offline to it and the kubelet pulls from it (image functions).
# Image lamina/registry:dev, deployed by scripts/registry/up.sh.
REGISTRY_VERSION=v3.1.2
REGISTRY_BIN_DIR="$LAMINA_CACHE/registry/$REGISTRY_VERSION/bin"
# kind: only used where a Docker engine exists (LAMINA_CLUSTER=kind); node image for
# Kubernetes 1.32 published with that kind release.
KIND_VERSION=v0.30.0
KIND_NODE_IMAGE=kindest/node:v1.32.8
KIND_BIN_DIR="$LAMINA_CACHE/kind/$KIND_VERSION/bin"
# kube-router's network-policy controller: enforces NetworkPolicy on the local cluster's
# bridge CNI (iptables + ipset), built from its Go module, run as a host process by up.sh.
# The only v2 release the module proxy serves here.
KUBE_ROUTER_VERSION=v2.1.0
KUBE_ROUTER_BIN_DIR="$LAMINA_CACHE/kube-router/$KUBE_ROUTER_VERSION/bin"
# Base of the runtime image: `debootstrap --variant=minbase` of this suite stands in for
# debian:<suite>-slim. A tarball is reused for LAMINA_BASE_MAX_AGE_DAYS (default 30).
DEBIAN_SUITE=trixie
DEBIAN_MIRROR=http://deb.debian.org/debian
