#!/usr/bin/env bash
# Removes images the local cluster's containerd pulled from a registry (their names only: layers
# other images share stay), so that the next pod of that reference is pulled again and the
# images built here report their own IDs again (containerd reports a pulled registry digest as
# the image ID of every image with the same content). The e2e test that installs Lamina from
# the test tier's registry calls it once the release is back on its own images.
#
# Usage: scripts/registry/forget-pulled.sh <registry>/<repository>[:tag]@sha256:<digest> ...
set -euo pipefail
# shellcheck source=../cluster/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../cluster/lib.sh"
log() { echo "[forget-pulled] $*" >&2; }

containerd_ready || die "the local cluster's containerd is not running"
for ref in "$@"; do
  [[ "$ref" == *@sha256:* ]] || die "$ref: expected <registry>/<repository>[:tag]@sha256:<digest>"
  repository="${ref%@*}"
  # The kubelet pulled `repo:tag@digest` by its digest: containerd names it repo@digest.
  [[ "${repository##*/}" != *:* ]] || repository="${repository%:*}"
  name="$repository@${ref#*@}"
  if [[ -n "$(containerd_image_digest "$name")" ]]; then
    ctr_k8s images rm "$name" >/dev/null
    log "forgot $name"
  fi
done
