"""End to end: the acceptance evaluator against one live ``rrmm-cds serve`` over the public
vignettes (CDS Hooks over HTTP, stub FHIR server, prefetch variations): the patient-view cases
(issue "relapse algorithm") and the order-hook cases (issue "order checks") as separate tests."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from card_text import problems

ROOT = Path(__file__).resolve().parents[2]
# Same lookup as .ci/run: RRMM_CDS_SHARED, else ../shared beside the project, else /work/shared.
_DEFAULT_SHARED = ROOT.parent / "shared" if (ROOT.parent / "shared" / "tools").is_dir() else Path("/work/shared")
SHARED = Path(os.environ.get("RRMM_CDS_SHARED", str(_DEFAULT_SHARED)))
EVALUATOR = SHARED / "tools" / "evaluate_vignettes.py"
# KB 2026.2: the public cases of 2026.2 (the 29 of 2026.1 with the 03 §8 expectations, plus 3 new)
# supersede those of vignettes/public where they differ.
CASES = SHARED / "vignettes" / "public-2026.2"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not EVALUATOR.is_file() or not CASES.is_dir(), reason="shared evaluator/vignettes not present"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "RRMM_CDS_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'store.db'}",
    }
    command = [str(Path(sys.executable).with_name("rrmm-cds")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=tmp_path_factory.mktemp("e2e-run"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_until_up(url: str, process: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rrmm-cds serve exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/cds-services", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("rrmm-cds serve did not answer discovery in time")


def _evaluate(service_url: str, cases: list[Path], tmp_path: Path) -> list[dict]:
    """Run the evaluator on ``cases``; every case must pass. Returns each case's result with the
    service's response (``-v --json``)."""
    assert cases, "no public cases of this kind found"
    results = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, str(EVALUATOR), "--base-url", service_url, "-v", "--json", str(results),
         "--cases", *map(str, cases)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, f"{summary}\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    assert summary == f"{len(cases)} passed, 0 failed", summary
    return json.loads(results.read_text(encoding="utf-8"))["cases"]


def _assert_readable(cases: list[dict]) -> None:
    """Every vignette response's cards within the length limits and free of internal codes in
    their sentences (04 §1, 03 §8.3)."""
    found = [p for case in cases for p in problems((case.get("response") or {}).get("cards", []), case["id"])]
    assert found == []
    assert any((case.get("response") or {}).get("cards") for case in cases)


def test_public_patient_view_vignettes_pass(service_url: str, tmp_path: Path) -> None:
    _assert_readable(_evaluate(service_url, sorted(CASES.glob("pv-*.json")), tmp_path))


def test_public_order_hook_vignettes_pass(service_url: str, tmp_path: Path) -> None:
    _assert_readable(_evaluate(service_url, sorted([*CASES.glob("os-*.json"), *CASES.glob("osel-*.json")]), tmp_path))


def test_moderately_oversized_body_gets_its_413_over_a_socket(service_url: str) -> None:
    """Most HTTP clients write the whole body before reading the answer: under gunicorn a body a
    little over the 5 MiB limit must still get the 413 OperationOutcome, not a reset connection."""
    padding = "x" * (7 * 1024 * 1024)
    body = json.dumps({"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                       "context": {"patientId": "p1", "userId": "Practitioner/u1"},
                       "extension": {"padding": padding}}).encode()
    host, port = service_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", "/cds-services/rrmm-relapse-guidance", body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 413
        outcome = json.loads(response.read())
        assert outcome["resourceType"] == "OperationOutcome"
    finally:
        connection.close()
