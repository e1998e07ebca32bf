#!/usr/bin/env bash
# Builds Lamina's container images without a Docker engine and without any registry,
# and imports them into the local cluster's containerd (npm run images:build).
#
# Usage: runtime-image/build/build-offline.sh [options] [target ...]
#   targets:  pause     the pod sandbox image (a static C "pause", see pause.c)
#             runtime   lamina/runtime:dev from runtime-image/Dockerfile (trixie:
#                       nodejs20.x, python3.13, provided*)
#             runtime-bookworm  lamina/runtime-bookworm:dev (nodejs18.x, python3.11)
#             runtime-forky     lamina/runtime-forky:dev (nodejs24.x, python3.14)
#             runtime-java21    lamina/runtime-java21:dev (runtime + openjdk-21, java21)
#             runtime-java17    lamina/runtime-java17:dev (runtime-bookworm + openjdk-17)
#             runtimes  every runtime image above
#             operator  lamina/operator:dev from operator/Dockerfile (skipped with a note
#                       while that file does not exist yet)
#             base      only the debian:trixie-slim stand-in
#             kafka, sqs  lamina/kafka:dev and lamina/sqs:dev, the event servers of the
#                       Kafka and SQS event sources (scripts/event-servers/); never by default
#             nats      lamina/nats:dev: the static nats-server (built from its Go module by
#                       scripts/cluster/build-tools.sh) alone in an image; never by default
#             registry  lamina/registry:dev: distribution's static registry binary (built from
#                       its Go module by scripts/cluster/build-tools.sh) and its config; the
#                       test tier's OCI registry (scripts/registry/up.sh); never by default
#             default: pause, runtime, the images of $LAMINA_RUNTIME_IMAGES (space-separated
#             names above, e.g. "runtime-java21"; "all" for every one), operator
#   --no-import      build and export only; do not touch containerd
#   --refresh-base   debootstrap a fresh base even if a recent one is cached
#
# How it works:
#   1. base: `debootstrap --variant=minbase <suite>` (trixie, bookworm, forky; cached as a tarball keyed by suite
#      and date, reused for $LAMINA_BASE_MAX_AGE_DAYS days), slimmed like the official
#      -slim images, committed with buildah as docker.io/library/debian:<suite>-slim.
#   2. `buildah bud --pull=never --layers` runs the very same runtime-image/Dockerfile a
#      Docker user builds (RUN apt-get reaches Debian's mirror; FROM never pulls).
#   3. `buildah push ... docker-archive:` then `ctr images import` into the k8s.io
#      namespace of the cluster's own containerd socket (scripts/cluster/lib.sh).
# Everything (buildah storage, archives) lives under $LAMINA_CACHE/images. A rebuild with
# unchanged inputs is a no-op; a changed agent only rebuilds the last layers.
set -euo pipefail

BUILD_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/cluster/lib.sh
. "$BUILD_DIR/../../scripts/cluster/lib.sh"

log() { echo "[images] $*" >&2; }
die() {
  echo "[images] error: $*" >&2
  exit 1
}

BASE_DIR="$IMAGES_DIR/base"
BUILDAH_DIR="$IMAGES_DIR/buildah"
base_image() { echo "docker.io/library/debian:$1-slim"; }
BASE_MAX_AGE_DAYS="${LAMINA_BASE_MAX_AGE_DAYS:-30}"

# The runtime images beyond lamina/runtime:dev, in build order (java17 builds on bookworm).
EXTRA_RUNTIME_IMAGES=(runtime-bookworm runtime-forky runtime-java21 runtime-java17)
DO_IMPORT=1
REFRESH_BASE=0
TARGETS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-import) DO_IMPORT=0 ;;
    --refresh-base) REFRESH_BASE=1 ;;
    -h | --help)
      sed -n '2,31p' "$0"
      exit 0
      ;;
    pause | runtime | runtime-bookworm | runtime-forky | runtime-java21 | runtime-java17 | operator | base)
      TARGETS+=("$1")
      ;;
    runtimes) TARGETS+=(runtime "${EXTRA_RUNTIME_IMAGES[@]}") ;;
    kafka | sqs | nats | registry) TARGETS+=("$1") ;;
    *) die "unknown argument: $1" ;;
  esac
  shift
done
if [[ ${#TARGETS[@]} -eq 0 ]]; then
  TARGETS=(pause runtime)
  if [[ "${LAMINA_RUNTIME_IMAGES:-}" == all ]]; then
    TARGETS+=("${EXTRA_RUNTIME_IMAGES[@]}")
  else
    for t in ${LAMINA_RUNTIME_IMAGES:-}; do
      [[ " ${EXTRA_RUNTIME_IMAGES[*]} " == *" $t "* ]] || die "LAMINA_RUNTIME_IMAGES: unknown image $t"
      TARGETS+=("$t")
    done
  fi
  TARGETS+=(operator)
fi

# buildah with its own storage under the cache (never the system's), chroot isolation
# (no OCI runtime nesting needed for RUN), and a policy that accepts local images only
# (nothing is ever pulled).
POLICY="$BUILDAH_DIR/policy.json"
REGISTRIES_CONF="$BUILDAH_DIR/registries.conf"
bah() {
  CONTAINERS_REGISTRIES_CONF="$REGISTRIES_CONF" BUILDAH_ISOLATION=chroot \
    buildah --root "$BUILDAH_DIR/storage" --runroot "$BUILDAH_DIR/run" \
    --storage-driver "${LAMINA_BUILDAH_DRIVER:-overlay}" "$@"
}

setup() {
  ensure_packages debootstrap:debootstrap buildah:buildah gcc:gcc \
    /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev ctr:containerd
  mkdir -p "$BASE_DIR" "$BUILDAH_DIR" "$IMAGE_ARCHIVE_DIR"
  [[ -f "$POLICY" ]] || echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$POLICY"
  # No search registries: a short name can only resolve to an image already stored.
  [[ -f "$REGISTRIES_CONF" ]] || printf 'unqualified-search-registries = []\nshort-name-mode = "permissive"\n' >"$REGISTRIES_CONF"
}

image_id() { bah images --noheading --no-trunc --format '{{.ID}}' "$1" 2>/dev/null | head -n1; }

# ------------------------------------------------------------------------ base

# The newest cached base tarball of a suite younger than BASE_MAX_AGE_DAYS, if any.
cached_base_tarball() {
  find "$BASE_DIR" -maxdepth 1 -name "debian-$1-minbase-*.tar" -mtime "-$BASE_MAX_AGE_DAYS" 2>/dev/null |
    sort | tail -n1
}

debootstrap_base() {
  local suite="$1" stamp tarball rootfs
  stamp="$(date -u +%Y%m%d)"
  tarball="$BASE_DIR/debian-$suite-minbase-$stamp.tar"
  rootfs="$BASE_DIR/rootfs-$suite.tmp"
  rm -rf "$rootfs"
  log "debootstrap --variant=minbase $suite (a few minutes; log: $BASE_DIR/debootstrap-$suite.log)"
  # A release newer than this host's debootstrap (forky on bookworm) bootstraps like sid.
  local script=()
  [[ -e "/usr/share/debootstrap/scripts/$suite" ]] || script=(/usr/share/debootstrap/scripts/sid)
  if ! debootstrap --variant=minbase --components=main "$suite" "$rootfs" "$DEBIAN_MIRROR" "${script[@]}" \
    >"$BASE_DIR/debootstrap-$suite.log" 2>&1; then
    tail -n 20 "$BASE_DIR/debootstrap-$suite.log" >&2
    rm -rf "$rootfs"
    die "debootstrap failed"
  fi
  slim_rootfs "$rootfs" "$suite"
  # /dev, /proc, /sys stay empty in an image: the container runtime provides them.
  tar --numeric-owner --xattrs -C "$rootfs" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
    -cf "$tarball.tmp" .
  mv -f "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
  # Keep only the newest two tarballs.
  find "$BASE_DIR" -maxdepth 1 -name "debian-$suite-minbase-*.tar" | sort | head -n -2 | xargs -r rm -f
  echo "$tarball"
}

# What the official debian:<suite>-slim images do on top of minbase: apt sources in
# deb822 form, no docs/man pages/translations from later installs, no caches or logs.
# Testing (forky) has no -updates suite: only stable releases list it.
slim_rootfs() {
  local r="$1" suite="$2" suites="$2"
  [[ "$suite" == forky ]] || suites="$suite $suite-updates"
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suites
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# As in the official -slim images: keep images small.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/docker-no-languages"
  echo 'APT::Install-Recommends "false";' >"$r/etc/apt/apt.conf.d/docker-no-recommends"
  # Testing's Release files are valid for a week only; a mirror snapshot older than that
  # would refuse them. Its packages are still verified by their signed hashes.
  [[ "$suite" != forky ]] || echo 'Acquire::Check-Valid-Until "false";' >"$r/etc/apt/apt.conf.d/lamina-testing-valid-until"
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$r"/usr/share/{man,info,groff,lintian,linda}/* "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/*
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$r"/var/log/* "$r"/tmp/* "$r"/var/tmp/* "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old
  : >"$r/etc/machine-id"
  rm -f "$r/etc/hostname" "$r/etc/resolv.conf"
}

ensure_base() {
  local suite="${1:-$DEBIAN_SUITE}" tarball have_label base
  base="$(base_image "$suite")"
  tarball="$(cached_base_tarball "$suite")"
  if [[ "$REFRESH_BASE" == 1 || -z "$tarball" ]]; then
    tarball="$(debootstrap_base "$suite")"
  else
    log "base: reusing $(basename "$tarball")"
  fi
  have_label="$(bah inspect --type image --format '{{index .ImageAnnotations "dev.lamina.base"}}' "$base" 2>/dev/null || true)"
  if [[ "$have_label" == "$(basename "$tarball")" ]]; then
    return 0
  fi
  log "base: committing $base from $(basename "$tarball")"
  local ctr
  ctr="$(bah from --pull=never scratch)"
  bah add --quiet "$ctr" "$tarball" / >/dev/null
  bah config --os linux --arch amd64 \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd bash --annotation "dev.lamina.base=$(basename "$tarball")" "$ctr"
  bah commit --quiet --rm --signature-policy "$POLICY" "$ctr" "$base" >/dev/null
}

# --------------------------------------------------------------- export/import

# Exports a buildah image as a docker-archive (the format `ctr images import` names from
# its RepoTags) and imports it into the cluster's containerd when that is running.
export_and_import() {
  local name="$1" id archive="$IMAGE_ARCHIVE_DIR/$2.tar"
  id="$(image_id "$name")"
  [[ -n "$id" ]] || die "image $name not found in buildah storage"
  if [[ ! -f "$archive" || "$(cat "$archive.id" 2>/dev/null)" != "$id" ]]; then
    log "$name: exporting to $archive"
    rm -f "$archive.tmp"
    bah push --quiet --signature-policy "$POLICY" "$name" "docker-archive:$archive.tmp:$name" >/dev/null
    mv -f "$archive.tmp" "$archive"
    echo "$id" >"$archive.id"
  fi
  if [[ "$DO_IMPORT" == 1 ]]; then
    if containerd_ready; then
      import_image_archive "$archive" "$name" 2>&1 | sed 's/^\[cluster\]/[images]/' >&2
      [[ "${PIPESTATUS[0]}" == 0 ]] || die "import of $name failed"
    else
      log "$name: cluster containerd not running; scripts/cluster/up.sh imports $archive"
    fi
  fi
}

# --------------------------------------------------------------------- targets

# Commits a `scratch` image of static files, unless IMAGE already carries WANT (the hash of
# its inputs) in annotation KEY, then exports and imports it:
#   commit_static_image IMAGE NAME KEY WANT SRC:DEST:MODE... -- BUILDAH-CONFIG-ARGS...
commit_static_image() {
  local image="$1" name="$2" key="$3" want="$4" have ctr file
  shift 4
  have="$(bah inspect --type image --format "{{index .ImageAnnotations \"$key\"}}" "$image" 2>/dev/null || true)"
  if [[ "$want" != "$have" ]]; then
    log "$name: committing $image"
    ctr="$(bah from --pull=never scratch)"
    while [[ "$1" != -- ]]; do
      file="$1"
      shift
      bah copy --quiet --chmod "${file##*:}" "$ctr" "${file%%:*}" "$(cut -d: -f2 <<<"$file")" >/dev/null
    done
    shift
    bah config --os linux --arch amd64 --annotation "$key=$want" "$@" "$ctr"
    bah commit --quiet --rm --signature-policy "$POLICY" "$ctr" "$image" >/dev/null
  fi
  export_and_import "$image" "$name"
}

build_pause() {
  local bin="$BUILDAH_DIR/pause" src="$BUILD_DIR/pause.c"
  if [[ ! -x "$bin" || "$src" -nt "$bin" ]]; then
    log "pause: compiling static $src"
    gcc -Os -static -Wall -Werror -o "$bin.tmp" "$src"
    strip "$bin.tmp"
    mv -f "$bin.tmp" "$bin"
  fi
  commit_static_image "$PAUSE_IMAGE" pause dev.lamina.pause "$(sha256sum "$bin" | cut -d' ' -f1)" \
    "$bin:/pause:0755" -- --entrypoint '["/pause"]' --cmd '' --user 65535:65535
}

# nats-server is a static Go binary (CGO off): the image holds that one file, nothing else to
# patch or to exploit. It runs as a non-root user; the chart's pod securityContext sets its own.
build_nats() {
  local bin="$NATS_SERVER_BIN_DIR/nats-server"
  bash "$BUILD_DIR/../../scripts/cluster/build-tools.sh" nats-server 2>&1 | sed 's/^\[cluster\]/[images]/' >&2
  [[ "${PIPESTATUS[0]}" == 0 ]] || die "nats-server build failed"
  commit_static_image "$NATS_IMAGE" nats dev.lamina.nats "$(sha256sum "$bin" | cut -d' ' -f1)" \
    "$bin:/nats-server:0755" -- --entrypoint '["/nats-server"]' --cmd '' --user 65532:65532 \
    --port 4222 --port 8222 --label "org.opencontainers.image.version=$NATS_SERVER_VERSION"
}

# The registry is static too (CGO off): the binary and a config that stores blobs under
# /var/lib/registry (a volume in the Deployment) and listens on :5000 without TLS (the test
# tier's containerd is told to pull from it over plain HTTP, scripts/registry/up.sh).
build_registry() {
  local bin="$REGISTRY_BIN_DIR/registry" conf="$BUILDAH_DIR/registry-config.yml"
  bash "$BUILD_DIR/../../scripts/cluster/build-tools.sh" registry 2>&1 | sed 's/^\[cluster\]/[images]/' >&2
  [[ "${PIPESTATUS[0]}" == 0 ]] || die "registry build failed"
  cat >"$conf" <<'EOF2'
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
health:
  storagedriver:
    enabled: true
EOF2
  commit_static_image "$REGISTRY_IMAGE" registry dev.lamina.registry "$(cat "$bin" "$conf" | sha256sum | cut -d' ' -f1)" \
    "$bin:/registry:0755" "$conf:/etc/distribution/config.yml:0644" -- \
    --entrypoint '["/registry"]' --cmd '["serve","/etc/distribution/config.yml"]' --user 65532:65532 \
    --port 5000 --label "org.opencontainers.image.version=$REGISTRY_VERSION"
}

# The bundles come from another part of the repo (`npm run build:operator`, esbuild,
# about a second): rebuilt every time so the image never
# carries a stale bundle; an unchanged bundle hashes the same and rebuilds nothing.
run_bundle() {
  local script="$1" out="$2"
  if grep -q "\"$script\"" "$REPO_ROOT/package.json"; then
    (cd "$REPO_ROOT" && npm run --silent "$script") >/dev/null 2>"$BUILDAH_DIR/$script.log" || {
      cat "$BUILDAH_DIR/$script.log" >&2
      die "npm run $script failed"
    }
  fi
  [[ -e "$REPO_ROOT/$out" ]] || die "$out does not exist (and npm run $script did not make it)"
}

# The agent: a static Go binary (runtime-image/agent-go), rebuilt only when its sources or the
# Go version changed (its build.sh keeps an input hash); standard library only, so offline.
ensure_agent_binary() {
  "$REPO_ROOT/runtime-image/agent-go/build.sh" "$REPO_ROOT/dist/agent/lamina-agent" >/dev/null \
    2>"$BUILDAH_DIR/agent-go.log" || {
    cat "$BUILDAH_DIR/agent-go.log" >&2
    die "the agent's Go build failed"
  }
  [[ -d "$REPO_ROOT/runtime-image/runtimes" ]] || die "runtime-image/runtimes/ does not exist"
}

# buildah bud on a Dockerfile with the repo root as context, layers cached. Steps that
# download from npm or PyPI get this machine's CA bundle as the build secret `ca-bundle`
# (a TLS-inspecting proxy's CA is in it); a secret is mounted for one step, never stored.
CA_BUNDLE="${LAMINA_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
# BUILD_ARGS: --build-arg options of the next bud (set by the caller, one build at a time).
BUILD_ARGS=()
bud() {
  local dockerfile="$1" name="$2" secrets=()
  [[ -s "$CA_BUNDLE" ]] && secrets=(--secret "id=ca-bundle,src=$CA_BUNDLE")
  log "$name: buildah bud -f ${dockerfile#"$REPO_ROOT"/} ${BUILD_ARGS[*]} (layers cached)"
  (cd "$REPO_ROOT" && bah bud --pull=never --layers --isolation chroot "${secrets[@]}" "${BUILD_ARGS[@]}" \
    --signature-policy "$POLICY" -f "$dockerfile" -t "$name" .) >"$BUILDAH_DIR/bud-${name##*/}.log" 2>&1 || {
    tail -n 30 "$BUILDAH_DIR/bud-${name##*/}.log" >&2
    die "build of $name failed (log: $BUILDAH_DIR/bud-${name##*/}.log)"
  }
}

# A hash of everything a Dockerfile build reads: the Dockerfile, its build arguments, the
# images it starts FROM (FROM_IMAGES) and the files it copies. Equal to the last build's ->
# the build is skipped (fast `cluster:up`).
FROM_IMAGES=()
inputs_hash() {
  local dockerfile="$1" from
  shift
  {
    sha256sum "$dockerfile"
    echo "${BUILD_ARGS[*]}"
    for from in "${FROM_IMAGES[@]}"; do image_id "$from"; done
    (cd "$REPO_ROOT" && find "$@" -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum)
    (cd "$REPO_ROOT" && find "$@" -printf '%p %m %y\n' 2>/dev/null | sort)
  } | sha256sum | cut -d' ' -f1
}

# bud_if_changed <dockerfile> <image> <context paths the Dockerfile copies...>
bud_if_changed() {
  local dockerfile="$1" name="$2" stamp hash
  shift 2
  stamp="$BUILDAH_DIR/inputs-${name##*/}"
  hash="$(inputs_hash "$dockerfile" "$@")"
  if [[ -n "$(image_id "$name")" && "$(cat "$stamp" 2>/dev/null)" == "$hash" ]]; then
    log "$name: inputs unchanged, not rebuilding"
    return 0
  fi
  bud "$dockerfile" "$name"
  echo "$hash" >"$stamp"
}

# build_runtime_image <target> <suite> <nodejs major> <python minor> [standby runtimes]: the
# runtime Dockerfile on a Debian release. Each image serves the Node.js and Python lines its
# release ships; only the default image starts standby runtimes in the warm pool.
build_runtime_image() {
  local target="$1" suite="$2" name
  name="docker.io/lamina/$target:dev"
  ensure_base "$suite"
  ensure_agent_binary
  BUILD_ARGS=(--build-arg "DEBIAN_SUITE=$suite" --build-arg "NODEJS_MAJOR=$3" --build-arg "PYTHON_MINOR=$4")
  [[ $# -ge 5 ]] && BUILD_ARGS+=(--build-arg "STANDBY_RUNTIMES=$5")
  FROM_IMAGES=("$(base_image "$suite")")
  bud_if_changed "$REPO_ROOT/runtime-image/Dockerfile" "$name" runtime-image/sdks runtime-image/runtimes \
    runtime-image/agent/launcher \
    dist/agent/lamina-agent
  export_and_import "$name" "$target"
}

# build_java_image <target> <suite> <runtime image it extends> <java major>: a JRE and the
# Java runtime interface client on top of a runtime image (whose agent it keeps).
build_java_image() {
  local target="$1" suite="$2" parent="docker.io/lamina/$3:dev" name="docker.io/lamina/$1:dev"
  BUILD_ARGS=(--build-arg "DEBIAN_SUITE=$suite" --build-arg "RUNTIME_IMAGE=$parent" --build-arg "JAVA_MAJOR=$4")
  FROM_IMAGES=("$(base_image "$suite")" "$parent")
  bud_if_changed "$REPO_ROOT/runtime-image/Dockerfile.java" "$name" runtime-image/runtimes/java
  export_and_import "$name" "$target"
}

# Hook for the operator/gateway image: built the same way as the runtime image, from
# operator/Dockerfile (FROM debian:trixie-slim + Debian's nodejs + the compiled operator)
# once the operator package provides it.
build_operator() {
  local dockerfile="$REPO_ROOT/operator/Dockerfile"
  if [[ ! -f "$dockerfile" ]]; then
    log "operator: skipped, operator/Dockerfile does not exist yet"
    return 0
  fi
  ensure_base "$DEBIAN_SUITE"
  BUILD_ARGS=()
  FROM_IMAGES=("$(base_image "$DEBIAN_SUITE")")
  run_bundle build:operator dist/operator
  # The operator Dockerfile's inputs are not known here: hash the whole operator/ and dist/.
  bud_if_changed "$dockerfile" "$OPERATOR_IMAGE" operator dist
  export_and_import "$OPERATOR_IMAGE" operator
}

# The event servers (Kafka, an SQS-compatible queue) that the event-source tests and
# `npm run up -- --with kafka,sqs` run: JREs with jars from Maven Central, one Dockerfile each
# under scripts/event-servers/.
build_event_server() {
  local name="$1" image="docker.io/lamina/$1:dev"
  ensure_base "$DEBIAN_SUITE"
  BUILD_ARGS=()
  FROM_IMAGES=("docker.io/library/debian:$DEBIAN_SUITE-slim")
  bud_if_changed "$REPO_ROOT/scripts/event-servers/$name/Dockerfile" "$image" \
    scripts/event-servers/fetch-jars.sh "scripts/event-servers/$name"
  export_and_import "$image" "$name"
}

# Leftovers of an interrupted build: working containers (and their overlay mounts).
# Called with the lock held, so no other build of ours is using them.
clean_working_containers() {
  bah rm --all >/dev/null 2>&1 || true
}

# Untagged images nothing builds on any more (older agent layers...). Layer-cache images
# of the current builds have children and survive; pruning a leaf exposes its parent,
# hence the loop.
prune_images() {
  local i
  for ((i = 0; i < 12; i++)); do
    [[ -n "$(bah rmi --prune 2>/dev/null)" ]] || break
  done
}

# containers/storage leaves its overlay home bind-mounted after buildah exits; unmount it
# so a finished build leaves no mounts behind.
unmount_storage() {
  local target
  for target in $(findmnt -rn -o TARGET | { grep -F "$BUILDAH_DIR/storage" || true; } |
    awk '{print length, $0}' | sort -rn | cut -d' ' -f2-); do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
  done
  return 0
}

main() {
  setup
  exec 7>"$IMAGES_DIR/lock"
  if ! flock -n 7; then
    log "another image build is running, waiting for $IMAGES_DIR/lock ..."
    flock 7
  fi
  # shellcheck disable=SC2154 # rc is assigned inside the trap string
  trap 'rc=$?; unmount_storage; exit $rc' EXIT
  clean_working_containers
  local start=$SECONDS t t0
  for t in "${TARGETS[@]}"; do
    t0=$SECONDS
    case "$t" in
      base) ensure_base "$DEBIAN_SUITE" ;;
      pause) build_pause ;;
      runtime) build_runtime_image runtime trixie 20 3.13 ;;
      runtime-bookworm) build_runtime_image runtime-bookworm bookworm 18 3.11 "" ;;
      runtime-forky) build_runtime_image runtime-forky forky 24 3.14 "" ;;
      runtime-java21)
        build_runtime_image runtime trixie 20 3.13
        build_java_image runtime-java21 trixie runtime 21
        ;;
      runtime-java17)
        build_runtime_image runtime-bookworm bookworm 18 3.11 ""
        build_java_image runtime-java17 bookworm runtime-bookworm 17
        ;;
      operator) build_operator ;;
      kafka | sqs) build_event_server "$t" ;;
      nats) build_nats ;;
      registry) build_registry ;;
    esac
    log "$t: $((SECONDS - t0))s"
  done
  prune_images
  log "done in $((SECONDS - start))s"
}

main
