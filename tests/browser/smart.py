"""Real processes for the timeline's SMART launch test: the SMART authorization server in front of
Medplum (``tests/e2e/smart/smart_ehr.mjs``, oidc-provider from npm) and the timeline's browser
libraries (``rrmm-cds timeline vendor``). Both are installed from committed lock files."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from integration import servers

SMART_DIR = Path(__file__).resolve().parents[1] / "e2e" / "smart"


def _installed() -> bool:
    return (SMART_DIR / "node_modules" / "oidc-provider").is_dir()


def ensure_installed() -> str | None:
    """Why the SMART server cannot run here (None when it can); installs with npm ci when needed."""
    reason = servers.medplum_skip_reason()
    if reason:
        return reason
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed: cannot install oidc-provider (tests/e2e/smart)"
    with open(Path(tempfile.gettempdir()) / "rrmm-cds-smart-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=SMART_DIR,
                                    capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                raise RuntimeError(f"npm ci failed in {SMART_DIR}:\n{result.stderr[-2000:]}")
        from cds_service.commands import timeline

        if not (timeline.VENDOR_DIR / "manifest.json").is_file():
            timeline.vendor(npm=npm)
    return None


@dataclass(frozen=True)
class SmartEhr:
    origin: str

    @property
    def fhir_base(self) -> str:
        return f"{self.origin}/fhir"

    def launch(self, patient: str, app_context: str) -> str:
        """Register an EHR launch context (what the EHR does when a card's SMART link is opened)."""
        response = requests.post(f"{self.origin}/ehr/launch", json={"patient": patient, "appContext": app_context},
                                 timeout=10)
        response.raise_for_status()
        return response.json()["launch"]

    def pick_patient(self, patient: str) -> None:
        """The standalone launch's patient picker: the next standalone authorization gets ``patient``."""
        requests.post(f"{self.origin}/ehr/pick-patient", json={"patient": patient}, timeout=10).raise_for_status()


@contextmanager
def start_smart_ehr(fhir: servers.FhirServer, *, client_id: str, redirect_uri: str) -> Iterator[SmartEhr]:
    process = subprocess.Popen(
        [str(servers.NODE_BIN), "smart_ehr.mjs", "--port", "0", "--fhir", fhir.base_url, "--fhir-token", fhir.token,
         "--client-id", client_id, "--redirect-uri", redirect_uri],
        cwd=SMART_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        yield SmartEhr(servers._read_listening_line(process))
    finally:
        servers._stop(process)
