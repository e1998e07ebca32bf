#!/usr/bin/env bash
# Pushes Lamina's images, as the offline build made them (runtime-image/build/build-offline.sh,
# `npm run up`), to a registry your cluster pulls from, and prints the `helm install` flags that
# point the chart at them (README "Install on your own cluster").
#
# Usage: scripts/registry/push-images.sh [--insecure] [--uncompressed] <registry>/<path> [tag] [image ...]
#   <registry>/<path>  where the images go: <registry>/<path>/operator:<tag>, …/runtime:<tag> …
#   tag                default: dev
#   image              operator, runtime, nats, runtime-java21, runtime-java17,
#                      runtime-bookworm, runtime-forky; default: operator, runtime, nats and
#                      whichever runtime-* images were built here
#   --insecure         plain HTTP / no TLS verification (a test registry)
#   --uncompressed     layers as they are stored (a registry on this machine: no gzip to wait
#                      for, and a node that has the layers already does not fetch them again)
# Registry credentials: `buildah login <registry>` first (or REGISTRY_AUTH_FILE).
# Prints one `--set images.<value>=<registry>/<path>/<image>:<tag>@<digest>` line per image:
# the digest pins exactly what was pushed.
set -euo pipefail
# shellcheck source=../cluster/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../cluster/lib.sh"
log() { echo "[push-images] $*" >&2; }

PUSH_FLAGS=()
while [[ $# -gt 0 && "$1" == --* ]]; do
  case "$1" in
    --insecure) PUSH_FLAGS+=(--tls-verify=false) ;;
    --uncompressed) PUSH_FLAGS+=(--disable-compression) ;;
    *) die "unknown option: $1" ;;
  esac
  shift
done
DESTINATION="${1:?usage: push-images.sh [--insecure] [--uncompressed] <registry>/<path> [tag] [image ...]}"
TAG="${2:-dev}"
shift $(($# < 2 ? $# : 2))

BUILDAH_DIR="$IMAGES_DIR/buildah"
bah() {
  flock "$IMAGES_DIR/lock" env CONTAINERS_REGISTRIES_CONF="$BUILDAH_DIR/registries.conf" \
    buildah --root "$BUILDAH_DIR/storage" --runroot "$BUILDAH_DIR/run" \
    --storage-driver "${LAMINA_BUILDAH_DRIVER:-overlay}" "$@"
}
built() { [[ -n "$(bah images --noheading --quiet "docker.io/lamina/$1:dev" 2>/dev/null)" ]]; }

# The chart value of each image.
value_of() {
  case "$1" in
    operator | runtime | nats) echo "images.$1" ;;
    runtime-*) echo "images.runtimes.${1#runtime-}" ;;
    *) die "unknown image: $1 (operator, runtime, nats, runtime-java21, runtime-java17, runtime-bookworm, runtime-forky)" ;;
  esac
}

IMAGES=("$@")
if [[ ${#IMAGES[@]} -eq 0 ]]; then
  IMAGES=(operator runtime nats)
  for image in runtime-java21 runtime-java17 runtime-bookworm runtime-forky; do
    ! built "$image" || IMAGES+=("$image")
  done
fi

digest_file="$(mktemp)"
trap 'rm -f "$digest_file"' EXIT
for image in "${IMAGES[@]}"; do
  value="$(value_of "$image")"
  built "$image" || die "docker.io/lamina/$image:dev is not built: runtime-image/build/build-offline.sh ${image}"
  target="$DESTINATION/$image:$TAG"
  start=$SECONDS
  bah push --quiet "${PUSH_FLAGS[@]}" --signature-policy "$BUILDAH_DIR/policy.json" \
    --digestfile "$digest_file" "docker.io/lamina/$image:dev" "docker://$target" >&2
  log "pushed $target in $((SECONDS - start)) s"
  echo "--set $value=$target@$(cat "$digest_file")"
done
