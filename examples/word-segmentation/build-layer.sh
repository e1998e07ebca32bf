#!/usr/bin/env bash
# Builds the jieba layer from the real `jieba` package (pip into python/, zip), uploads it
# to Lamina's artifact store with `lamina push`, and applies layer.yaml with its digest.
#   KUBECONFIG must point at a cluster running Lamina (source .lamina/env).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../../scripts/versions.sh
. "$ROOT/scripts/versions.sh"
JIEBA_VERSION=0.42.1

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip install --quiet --no-compile --disable-pip-version-check \
  --target "$work/layer/python" "jieba==$JIEBA_VERSION" >&2
# Deterministic zip: sorted entries and fixed timestamps, so the same jieba gives the same digest.
python3 - "$work/layer" "$work/jieba-layer.zip" <<'PY'
import os, sys, zipfile
root, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            info = zipfile.ZipInfo(os.path.relpath(path, root), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())
PY
store_ip="$("$K8S_BIN_DIR/kubectl" -n lamina-system get svc lamina-store -o jsonpath='{.spec.clusterIP}')"
digest="$(node "$ROOT/dist/operator/lamina.mjs" push "$work/jieba-layer.zip" --store "http://$store_ip:8090")"
echo "jieba layer: sha256 $digest" >&2
sed "s/sha256: '0\{64\}'/sha256: '$digest'/" "$HERE/layer.yaml" | "$K8S_BIN_DIR/kubectl" apply -f -
