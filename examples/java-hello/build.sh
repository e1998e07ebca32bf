#!/usr/bin/env bash
# Builds the Java example (Maven: compile for Java 17, copy the dependencies), packages it
# as Lambda's Java runtimes load a zip — classes at the root, dependencies in lib/ — uploads
# it to Lamina's artifact store with `lamina push`, and applies function.yaml with its digest.
#   Needs a JDK 17+ and Maven; KUBECONFIG must point at a cluster running Lamina
#   (source .lamina/env); NAMESPACE (default: the context's) is where the functions go.
#   `build.sh --zip-only <out.zip>` only builds the zip.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)" # -P: the repository, also through a symlink
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../../scripts/versions.sh
. "$ROOT/scripts/versions.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$HERE/pom.xml" "$HERE/src" "$work/"
(cd "$work" && mvn -B -q package dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$work/target/lib") >&2
mkdir -p "$work/zip/lib"
cp -r "$work/target/classes/." "$work/zip/"
cp "$work/target/lib/"*.jar "$work/zip/lib/"
# Deterministic zip: sorted entries and fixed timestamps, so the same sources give the same digest.
python3 - "$work/zip" "$work/java-hello.zip" <<'PY'
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
if [[ "${1:-}" == --zip-only ]]; then
  cp "$work/java-hello.zip" "$2"
  exit 0
fi
store_ip="$("$K8S_BIN_DIR/kubectl" -n lamina-system get svc lamina-store -o jsonpath='{.spec.clusterIP}')"
digest="$(node "$ROOT/dist/operator/lamina.mjs" push "$work/java-hello.zip" --store "http://$store_ip:8090")"
echo "java-hello: sha256 $digest" >&2
sed "s/sha256: '0\{64\}'/sha256: '$digest'/" "$HERE/function.yaml" |
  "$K8S_BIN_DIR/kubectl" apply ${NAMESPACE:+-n "$NAMESPACE"} -f -
