#!/usr/bin/env bash
# Builds the agent binary (static, stripped, reproducible) unless the last build had the same
# inputs: the Go sources, go.mod and the Go version. Standard library only, so it builds offline.
#
# Usage: runtime-image/agent-go/build.sh [output]   (default: dist/agent/lamina-agent)
# Prints the output's path. The runtime images COPY dist/agent/lamina-agent (build-offline.sh
# calls this first); the agent's integration tests build their own copy the same way.
set -euo pipefail

MODULE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$MODULE_DIR/../.." && pwd)"
OUT="${1:-$REPO_ROOT/dist/agent/lamina-agent}"
STAMP="$OUT.inputs"

command -v go >/dev/null || {
  echo "lamina-agent: go is not installed (https://go.dev/dl/); it builds the agent" >&2
  exit 1
}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOOS=linux
hash="$(
  {
    go version
    cd "$MODULE_DIR" && find . -name '*.go' ! -name '*_test.go' -o -name go.mod | sort | xargs sha256sum
  } | sha256sum | cut -d' ' -f1
)"
if [[ -x "$OUT" && "$(cat "$STAMP" 2>/dev/null)" == "$hash" ]]; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$(dirname "$OUT")"
(cd "$MODULE_DIR" && go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$OUT.$$.tmp" .)
mv "$OUT.$$.tmp" "$OUT"
echo "$hash" >"$STAMP"
echo "$OUT"
