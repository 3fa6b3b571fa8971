"""``rrmm-cds timeline vendor``: fill the relapse timeline's ``static/vendor`` folder from npm.

The browser libraries are npm packages pinned by version and integrity in
``cds_service/timeline/package-lock.json``. ``npm ci`` installs exactly those (it refuses a
tarball whose integrity differs), then the built browser files listed in :data:`VENDOR_FILES`
are copied into the git-ignored ``cds_service/timeline/static/vendor`` with a ``manifest.json``
naming each file's package, version and lock-file integrity. Nothing is hand-copied.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

TIMELINE_DIR = Path(__file__).resolve().parents[1] / "timeline"
VENDOR_DIR = TIMELINE_DIR / "static" / "vendor"
# vendor file name -> (npm package, path inside the package)
VENDOR_FILES = {
    "fhir-client.min.js": ("fhirclient", "build/fhir-client.min.js"),
    "d3.min.js": ("d3", "dist/d3.min.js"),
    "plot.umd.min.js": ("@observablehq/plot", "dist/plot.umd.min.js"),
}
NPM_TIMEOUT_S = 900


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("timeline", help="the relapse timeline app")
    actions = parser.add_subparsers(dest="timeline_action", required=True)
    vendor = actions.add_parser("vendor", help="install the app's pinned browser libraries (npm ci) into static/vendor")
    vendor.add_argument("--npm", default=None, help="the npm executable (default: npm on PATH)")
    vendor.add_argument("--skip-install", action="store_true",
                        help="copy from an existing node_modules (already installed with npm ci)")
    vendor.set_defaults(func=run_vendor)


def run_vendor(args: argparse.Namespace) -> int:
    try:
        written = vendor(npm=args.npm, install=not args.skip_install)
    except VendorError as exc:
        print(f"rrmm-cds timeline vendor: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


class VendorError(RuntimeError):
    pass


def vendor(*, npm: str | None = None, install: bool = True, target: Path = VENDOR_DIR) -> list[Path]:
    if install:
        executable = npm or shutil.which("npm")
        if executable is None:
            raise VendorError("npm is not installed (it is needed once, to fetch the pinned browser libraries)")
        result = subprocess.run([executable, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                                cwd=TIMELINE_DIR, capture_output=True, text=True, timeout=NPM_TIMEOUT_S)
        if result.returncode != 0:
            raise VendorError(f"npm ci failed in {TIMELINE_DIR}:\n{result.stderr[-2000:]}")
    lock = json.loads((TIMELINE_DIR / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    manifest = {}
    for name, (package, inner) in VENDOR_FILES.items():
        source = TIMELINE_DIR / "node_modules" / package / inner
        entry = lock.get(f"node_modules/{package}")
        if entry is None or not source.is_file():
            raise VendorError(f"{package} is not installed from the lock file (run without --skip-install)")
        installed = json.loads((TIMELINE_DIR / "node_modules" / package / "package.json").read_text())["version"]
        if installed != entry["version"]:
            raise VendorError(f"{package} {installed} is installed but the lock file pins {entry['version']}")
        shutil.copyfile(source, staging / name)
        manifest[name] = {"package": package, "version": entry["version"], "integrity": entry["integrity"],
                          "file": inner}
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return sorted(target.iterdir())
