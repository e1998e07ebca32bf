#!/usr/bin/env bash
# `npm run down`: uninstalls Lamina and stops the local cluster that `npm run up` started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=versions.sh
. scripts/versions.sh
if [[ -f .lamina/env ]]; then
  # shellcheck disable=SC1091
  . .lamina/env
  "$HELM_BIN_DIR/helm" uninstall lamina --namespace lamina-system --wait >&2 || true
fi
[[ "${LAMINA_USE_CURRENT_CONTEXT:-0}" == 1 ]] || bash scripts/cluster/down.sh >&2
rm -f .lamina/env
echo "Lamina is down." >&2
