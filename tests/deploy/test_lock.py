"""The image's dependency locks (deploy/*.lock, written by deploy/lock.sh) match pyproject.toml."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
LOCK_DIGEST = runpy.run_path(str(DEPLOY / "lock_digest.py"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) for every requirement block of a pip-compile lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), [])
        elif current and "--hash=sha256:" in line:
            pins[current][1].append(line.split("--hash=sha256:")[1].split()[0])
    return pins


def _recorded_digest(lock: Path) -> str | None:
    for line in lock.read_text().splitlines():
        if line.startswith("# pyproject-digest:"):
            return line.split(":", 1)[1].strip()
    return None


@pytest.mark.parametrize("lock", ["requirements.lock", "build-requirements.lock"])
def test_lock_was_made_from_the_current_pyproject(lock: str) -> None:
    assert _recorded_digest(DEPLOY / lock) == LOCK_DIGEST["digest"](REPO / "pyproject.toml"), (
        f"pyproject.toml's dependencies changed since deploy/{lock} was written: run deploy/lock.sh"
    )


@pytest.mark.parametrize(
    ("lock", "which"), [("requirements.lock", 0), ("build-requirements.lock", 1)]
)
def test_every_declared_requirement_is_pinned_within_its_range(lock: str, which: int) -> None:
    pins = _pins(DEPLOY / lock)
    declared = LOCK_DIGEST["locked_inputs"](REPO / "pyproject.toml")[which]
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in deploy/{lock}"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"deploy/{lock} pins {name}=={pins[name][0]}, outside {requirement.specifier}"
        )


@pytest.mark.parametrize("lock", ["requirements.lock", "build-requirements.lock"])
def test_every_pin_is_exact_and_hashed(lock: str) -> None:
    pins = _pins(DEPLOY / lock)
    assert pins
    for name, (_version, hashes) in pins.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name
    requirement_lines = [
        line for line in (DEPLOY / lock).read_text().splitlines() if line and line[0].isalnum()
    ]
    assert all(PIN.match(line) for line in requirement_lines), "every requirement is an exact == pin"


def test_the_dockerfile_installs_from_the_locks_with_hashes() -> None:
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text())
    installs = [line for line in text.splitlines() if "pip install" in line]
    for lock in ("deploy/requirements.lock", "deploy/build-requirements.lock"):
        assert any(f"-r {lock}" in line and "--require-hashes" in line for line in installs), lock
    # Anything else pip installs comes from the local wheel of the project, never the index.
    for command in (part for line in installs for part in line.split("&&") if "pip install" in part):
        assert "--require-hashes" in command or "--no-index" in command, command
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert "!deploy/requirements.lock" in ignored and "!deploy/build-requirements.lock" in ignored
