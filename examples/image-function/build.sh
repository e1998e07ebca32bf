#!/usr/bin/env bash
# Builds examples/image-function's image without Docker and pushes it to the local cluster's
# registry (scripts/registry/up.sh: 10.88.0.1:30500, plain HTTP). With Docker the same image is
#   FROM scratch
#   COPY bootstrap /var/runtime/bootstrap
#   ENTRYPOINT ["/var/runtime/bootstrap"]
# Usage: examples/image-function/build.sh [tag]   (default v1)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd "$HERE/../.." && pwd -P)"
TAG="${1:-v1}"
REGISTRY="$(bash "$REPO/scripts/registry/up.sh" 2>/dev/null | sed -n 's/^REGISTRY=//p')"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# A static binary (no libc needed in the image), as Lambda's provided.al2023 runs it.
(cd "$HERE" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -mod=readonly -trimpath -tags lambda.norpc \
  -o "$OUT/bootstrap" .)
ctr="$(buildah from scratch)"
buildah copy --quiet --chmod 0755 "$ctr" "$OUT/bootstrap" /var/runtime/bootstrap >/dev/null
buildah config --entrypoint '["/var/runtime/bootstrap"]' "$ctr"
buildah commit --quiet --rm "$ctr" "localhost/examples/image-hello:$TAG" >/dev/null
buildah push --quiet --tls-verify=false "localhost/examples/image-hello:$TAG" \
  "docker://$REGISTRY/examples/image-hello:$TAG"
echo "pushed $REGISTRY/examples/image-hello:$TAG"
