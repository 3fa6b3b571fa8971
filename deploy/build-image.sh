#!/usr/bin/env bash
# Build the container image (deploy/Dockerfile) with podman, run it locked down, and judge the
# running container from the outside: conformance (development profile and client-JWT profile)
# and the public acceptance vignettes. What CI runs (.ci/run); works on a machine without any
# container registry.
#
#   deploy/build-image.sh              build + run + judge; exit 0 only if every step passed
#   deploy/build-image.sh --build-only build the image and check its contents, nothing else
#
# Environment:
#   RRMM_CDS_SHARED      where the judges live (default ../shared beside the checkout, else /work/shared)
#   RRMM_CDS_PYTHON      Python that runs the judges (default .venv/bin/python, else python3;
#                        the JWT profile needs the `cryptography` package)
#   RRMM_CDS_IMAGE       tag of the image built (default localhost/rrmm-cds:local)
#   RRMM_CDS_BASE_IMAGE  base image (PYTHON_IMAGE build argument). Default: the Dockerfile's
#                        python:3.11-slim-bookworm when its registry resolves, else a Debian bookworm
#                        base made here with debootstrap (localhost/debian-python:3.11-bookworm,
#                        kept and reused; RRMM_CDS_REBUILD_BASE=1 makes it again). The Debian mirror
#                        is read from this machine's apt sources at run time.
#
# When podman cannot run here (not installed, or `podman info` fails) the script says so and exits
# 0 with "SKIPPED" in its last line: only then, never silently. Debian packages it needs: podman
# buildah debootstrap uidmap fuse-overlayfs slirp4netns runc (.ci/run installs them as root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${RRMM_CDS_SHARED:-$ROOT/../shared}"
[ -d "$SHARED/tools" ] || SHARED=/work/shared
IMAGE="${RRMM_CDS_IMAGE:-localhost/rrmm-cds:local}"
LOCAL_BASE=localhost/debian-python:3.11-bookworm
DEFAULT_BASE=docker.io/library/python:3.11-slim-bookworm
PY="${RRMM_CDS_PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
BUILD_ONLY=0
[ "${1:-}" = "--build-only" ] && BUILD_ONLY=1
# crun refuses this VM's hybrid cgroup layout; runc works. The VM lacks CAP_SYS_RESOURCE, so the
# container keeps limits at or below the host's instead of podman's raised defaults.
PODMAN=(podman --runtime runc)
RUN_LIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

WORK="$(mktemp -d -t rrmm-cds-image.XXXXXX)"
CONTAINERS=()
BACKGROUND=()
cleanup() {
    for name in "${CONTAINERS[@]}"; do "${PODMAN[@]}" rm -f -t 5 "$name" >/dev/null 2>&1 || true; done
    for pid in "${BACKGROUND[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n==> [image] %s\n' "$*"; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# -- can podman run here? -----------------------------------------------------------------------
if ! command -v podman >/dev/null 2>&1; then
    echo "podman is not installed (Debian: podman buildah debootstrap uidmap fuse-overlayfs slirp4netns runc)"
    echo "container image build and run: SKIPPED (podman cannot run here)"
    exit 0
fi
if ! "${PODMAN[@]}" info >"$WORK/podman-info" 2>&1; then
    tail -n 5 "$WORK/podman-info"
    echo "container image build and run: SKIPPED (podman cannot run here: 'podman info' failed)"
    exit 0
fi

# -- the base image -----------------------------------------------------------------------------
apt_mirror() {
    # The first non-security Debian archive in this machine's apt sources (deb822 or one-line).
    local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
    local uri
    uri="$(cat "${files[@]}" 2>/dev/null | awk '
        /^[[:space:]]*#/ { next }
        /^URIs:/ { for (i = 2; i <= NF; i++) print $i; next }
        /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' \
        | grep -v -- '-security' | grep -E '^(https?|file)://' | head -n 1)"
    [ -n "$uri" ] || { echo "no Debian mirror found in the apt sources" >&2; return 1; }
    echo "$uri"
}

make_local_base() {
    command -v debootstrap >/dev/null 2>&1 || { echo "debootstrap missing (apt-get install debootstrap)" >&2; return 1; }
    local mirror rootfs="$WORK/rootfs"
    mirror="$(apt_mirror)"
    step "base image $LOCAL_BASE with debootstrap (bookworm, minbase + python3)"
    debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
        bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -n 20 "$WORK/debootstrap.log" >&2; return 1; }
    # Package caches and lists are not part of an image.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
    tar -C "$rootfs" -c . | "${PODMAN[@]}" import --quiet \
        --change 'CMD ["python3"]' --message "debootstrap bookworm minbase + python3" - "$LOCAL_BASE" >/dev/null
    rm -rf "$rootfs"
}

if [ -n "${RRMM_CDS_BASE_IMAGE:-}" ]; then
    BASE="$RRMM_CDS_BASE_IMAGE"
elif getent hosts registry-1.docker.io >/dev/null 2>&1 && "${PODMAN[@]}" pull -q "$DEFAULT_BASE" >/dev/null 2>&1; then
    BASE="$DEFAULT_BASE"
else
    echo "no container registry reachable: using the local Debian base $LOCAL_BASE"
    BASE="$LOCAL_BASE"
    if [ "${RRMM_CDS_REBUILD_BASE:-0}" = 1 ] || ! "${PODMAN[@]}" image exists "$LOCAL_BASE"; then
        make_local_base
    fi
fi

# -- build --------------------------------------------------------------------------------------
step "build $IMAGE from deploy/Dockerfile (PYTHON_IMAGE=$BASE)"
BUILD_MOUNTS=()
# pip inside the build trusts the same certificate authorities as this machine.
CA=/etc/ssl/certs/ca-certificates.crt
[ -f "$CA" ] && BUILD_MOUNTS=(-v "$CA:$CA:ro")
previous="$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
start=$SECONDS
"${PODMAN[@]}" build --isolation chroot --pull=never -f "$ROOT/deploy/Dockerfile" \
    --ignorefile "$ROOT/deploy/Dockerfile.dockerignore" --build-arg "PYTHON_IMAGE=$BASE" \
    "${BUILD_MOUNTS[@]}" -t "$IMAGE" "$ROOT" >"$WORK/build.log" 2>&1 \
    || { tail -n 40 "$WORK/build.log" >&2; echo "image build FAILED" >&2; exit 1; }
# The image this tag named before is replaced: remove it rather than leave one per build.
if [ -n "$previous" ] && [ "$previous" != "$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE")" ]; then
    "${PODMAN[@]}" rmi "$previous" >/dev/null 2>&1 || true
fi
echo "built in $((SECONDS - start)) s: $("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1 / 1000000}')"

step "image contents: non-root user, no pip, no compiler"
user="$("${PODMAN[@]}" image inspect --format '{{.Config.User}}' "$IMAGE")"
[ "${user%%:*}" != "" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ] \
    || { echo "image runs as '$user', not a non-root uid" >&2; exit 1; }
"${PODMAN[@]}" run --rm --network none --read-only --cap-drop ALL "${RUN_LIMITS[@]}" --entrypoint python "$IMAGE" -c '
import importlib.util, os, shutil, sys
found = [m for m in ("pip", "ensurepip", "setuptools") if importlib.util.find_spec(m)]
found += [t for t in ("pip", "pip3", "gcc", "cc", "make") if shutil.which(t)]
print("uid", os.getuid(), "- found:", found or "nothing")
sys.exit(1 if found or os.getuid() == 0 else 0)' || { echo "the image carries installers/compilers or runs as root" >&2; exit 1; }
[ "$BUILD_ONLY" = 1 ] && { echo "image $IMAGE built and checked"; exit 0; }

# -- run it locked down -------------------------------------------------------------------------
# --network host: the judges' stub FHIR servers and SSRF listeners are on this machine's loopback,
# which the service must reach as 127.0.0.1 (it binds a free loopback port, never a public one).
start_container() {  # start_container NAME LOG ENV_ARGS...
    local name="$1" log="$2"; shift 2
    local port probe metrics
    port="${FIXED_PORT:-$(free_port)}"; probe="$(free_port)"; metrics="$(free_port)"
    "${PODMAN[@]}" run --rm --name "$name" --network host --read-only --tmpfs /tmp:rw,size=64m,mode=1777 \
        --cap-drop ALL --security-opt no-new-privileges "${RUN_LIMITS[@]}" \
        -e PORT="$port" -e RRMM_CDS_BIND="127.0.0.1:$port" -e RRMM_CDS_PROBE_PORT="$probe" \
        -e RRMM_CDS_METRICS_PORT="$metrics" -e GUNICORN_WORKERS=2 "$@" "$IMAGE" >"$log.out" 2>"$log" &
    BACKGROUND+=($!)
    CONTAINERS+=("$name")
    BASE_URL="http://127.0.0.1:$port"
    for _ in $(seq 1 120); do
        if "$PY" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
            "$BASE_URL/healthz" 2>/dev/null; then
            return 0
        fi
        if ! "${PODMAN[@]}" container exists "$name"; then break; fi
        sleep 0.5
    done
    echo "the container $name did not start:" >&2
    tail -n 40 "$log" "$log.out" >&2
    return 1
}

check_locked_down() {  # the running container: read-only root, no capabilities, non-root
    local name="$1" inspect
    inspect="$("${PODMAN[@]}" inspect --format '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.Config.User}}' "$name")"
    echo "container $name (read-only root, dropped capabilities, user): $inspect"
    case "$inspect" in true\ *) ;; *) echo "root filesystem is writable" >&2; return 1 ;; esac
    "${PODMAN[@]}" exec "$name" python -c '
import os, sys
effective = int(next(l for l in open("/proc/self/status") if l.startswith("CapEff")).split()[1], 16)
print("uid", os.getuid(), "CapEff", hex(effective))
sys.exit(0 if os.getuid() != 0 and effective == 0 else 1)'
}

status=0
EXTRA=()
for persona_hook in len-sensitive:patient-view penta-refractory:patient-view \
                    len-refractory:order-select triple-class-refractory:order-sign; do
    file="$WORK/extra-${persona_hook/:/-}.json"
    "${PODMAN[@]}" run --rm --network none --read-only --cap-drop ALL "${RUN_LIMITS[@]}" --entrypoint rrmm-cds \
        "$IMAGE" fixtures request "${persona_hook%%:*}" --hook "${persona_hook##*:}" >"$file"
    EXTRA+=(--extra-request "$file")
done

step "run the image (development profile) and judge it"
DEV_LOG="$WORK/container-dev.log"
start_container "rrmm-cds-image-dev-$$" "$DEV_LOG" -e RRMM_CDS_ENV=development \
    -e DATABASE_URL=sqlite:////tmp/rrmm-cds.sqlite3
check_locked_down "rrmm-cds-image-dev-$$" || status=1
"$PY" "$SHARED/tools/check_conformance.py" --base-url "$BASE_URL" --log-file "$DEV_LOG" \
    --only discovery,calls,fetch,cors,feedback,responses,logs --ssrf "${EXTRA[@]}" || status=1
"$PY" "$SHARED/tools/evaluate_vignettes.py" --base-url "$BASE_URL" --cases "$SHARED/vignettes/public-2026.2" || status=1
"${PODMAN[@]}" stop -t 20 "rrmm-cds-image-dev-$$" >/dev/null 2>&1 || true

step "run the image (client-JWT profile) and judge it"
JWT_DIR="$WORK/jwtcfg"  # throw-away client keys, removed with $WORK
JWT_PORT="$(free_port)"
"$PY" "$SHARED/tools/check_conformance.py" --jwt-init "$JWT_DIR" --base-url "http://127.0.0.1:$JWT_PORT" >/dev/null
chmod -R a+rX "$JWT_DIR"
JWT_LOG="$WORK/container-jwt.log"
# The profile's public base URL names the port, so the container takes that port.
FIXED_PORT="$JWT_PORT" start_container "rrmm-cds-image-jwt-$$" "$JWT_LOG" --env-file "$JWT_DIR/service.env" \
    -v "$JWT_DIR:$JWT_DIR:ro" -e DATABASE_URL=sqlite:////tmp/rrmm-cds.sqlite3
"$PY" "$SHARED/tools/check_conformance.py" --base-url "$BASE_URL" --jwt-config "$JWT_DIR" \
    --log-file "$JWT_LOG" || status=1
"${PODMAN[@]}" stop -t 20 "rrmm-cds-image-jwt-$$" >/dev/null 2>&1 || true

if [ "$status" -ne 0 ]; then
    echo "container image judged: FAILED; last container log lines:" >&2
    tail -n 20 "$DEV_LOG" "$JWT_LOG" >&2 || true
    exit 1
fi
echo "container image judged: passed (development + JWT conformance, public vignettes of KB 2026.2)"
