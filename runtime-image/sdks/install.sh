#!/bin/sh
# Installs the AWS SDKs the managed runtimes include, as Lambda's runtimes do, into a
# runtime directory (the image's /var/runtime, LAMBDA_RUNTIME_DIR):
#   <dir>/node_modules   the AWS SDK for JavaScript v3 clients of node/package-lock.json
#                        (NODE_PATH searches it after the function's and the layers')
#   <dir>/python-sdk     boto3 and its dependencies, python/requirements.txt (the Python
#                        runtime client puts it on sys.path after the function and layers)
# Exact versions and integrity hashes only: the same inputs install the same files.
#
# Usage: install.sh <runtime-dir>   (needs npm, and pip for $PYTHON, default python3)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
dest="$1"
python="${PYTHON:-python3}"
mkdir -p "$dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp "$here/node/package.json" "$here/node/package-lock.json" "$work/"
npm ci --prefix "$work" --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
rm -rf "$dest/node_modules"
mv "$work/node_modules" "$dest/node_modules"
rm -f "$dest/node_modules/.package-lock.json"

rm -rf "$dest/python-sdk"
"$python" -m pip install --quiet --no-cache-dir --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
  --require-hashes --only-binary=:all: --no-deps --target "$dest/python-sdk" \
  -r "$here/python/requirements.txt"
# Console scripts are no use to a handler.
rm -rf "$dest/python-sdk/bin"
