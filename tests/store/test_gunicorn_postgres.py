"""End to end on production-like processes: multi-worker gunicorn + PostgreSQL + the CLI.

- ``rrmm-cds db upgrade`` builds the schema in a private PostgreSQL schema;
- gunicorn (deploy/gunicorn.conf.py, 3 workers) serves the app;
- parallel hook calls land on several workers, and /metrics (any worker) reports the merged
  per-service latency histogram;
- hundreds of feedback posts in parallel, then ``rrmm-cds report --json`` counts them exactly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from test_concurrent_feedback import SERVICE, feedback_items, issue_cards, post_all

from cds_service.services import PREFETCH
from cds_service.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKERS = 3
HOOK_CALLS = 40
DISTINCT_FEEDBACK = 150


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _vignettes_dir() -> Path:
    """The public vignettes, found the way .ci/run finds the shared material."""
    candidates = [
        os.environ.get("RRMM_CDS_VIGNETTES"),
        os.environ.get("RRMM_CDS_SHARED") and f"{os.environ['RRMM_CDS_SHARED']}/vignettes/public",
        str(REPO.parent / "shared" / "vignettes" / "public"),
        "/work/shared/vignettes/public",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path("/nonexistent")


VIGNETTES = _vignettes_dir()
# Where each resource type goes in the prefetch (the index reads every key alike).
PREFETCH_KEY = {
    "Patient": "patient",
    "Condition": "conditions",
    "MedicationStatement": "medicationStatements",
    "MedicationRequest": "medicationRequests",
    "MedicationAdministration": "medicationAdministrations",
    "MedicationDispense": "medicationDispenses",
    "Observation": "labObservations",
    "Procedure": "procedures",
    "DiagnosticReport": "diagnosticReports",
}


def _patient_view_requests() -> list[dict]:
    """Realistic patient-view calls from the public vignettes' patient data (any outcome)."""
    requests_ = []
    for path in sorted(VIGNETTES.glob("pv-*.json")):
        data = orjson.loads(path.read_bytes())["data"]
        prefetch: dict = {
            key: {"resourceType": "Bundle", "type": "searchset", "entry": []} for key in PREFETCH
        }
        for resource in data["resources"]:
            key = PREFETCH_KEY.get(resource.get("resourceType"))
            if key == "patient":
                prefetch["patient"] = resource
            elif key:
                prefetch[key]["entry"].append({"resource": resource})
        requests_.append(
            {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/p1", "patientId": data["patientId"]},
                "prefetch": prefetch,
            }
        )
    if not requests_:
        pytest.skip(f"no patient-view vignettes under {VIGNETTES}")
    return requests_


@pytest.fixture
def gunicorn_server(postgres_database_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    metrics_dir = tmp_path / "prometheus"
    env = {
        **os.environ,
        "DATABASE_URL": postgres_database_url,
        "RRMM_CDS_ENV": "development",
        "RRMM_CDS_LOG_LEVEL": "WARNING",
        "RRMM_CDS_AUDIT_SALT": "gunicorn-test-salt",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "GUNICORN_WORKERS": str(WORKERS),
        "RRMM_CDS_BIND": f"127.0.0.1:{_free_port()}",
        "RRMM_CDS_PROBE_PORT": "0",
        "RRMM_CDS_METRICS_PORT": "0",
    }
    upgrade = subprocess.run(
        [str(BIN / "rrmm-cds"), "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr

    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                str(REPO / "deploy" / "gunicorn.conf.py"),
                "cds_service.app:create_app()",
            ],
            env=env,
            cwd=tmp_path,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{env['RRMM_CDS_BIND']}"
    try:
        _wait_ready(base_url, process, log_path)
        yield base_url, env, metrics_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited early:\n{log_path.read_text()[-4000:]}")
        try:
            if requests.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"gunicorn not ready in time:\n{log_path.read_text()[-4000:]}")


def _latency_count(base_url: str) -> float:
    text = requests.get(f"{base_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "rrmm_cds_http_request_duration_seconds_count"
                and sample.labels.get("service") == SERVICE
                and sample.labels.get("endpoint") == "/cds-services/<service_id>"
            ):
                return sample.value
    return 0.0


def test_multi_worker_metrics_feedback_and_report(gunicorn_server: tuple[str, dict[str, str], Path]) -> None:
    base_url, env, metrics_dir = gunicorn_server

    bodies = _patient_view_requests()

    def call(n: int) -> int:
        body = {**bodies[n % len(bodies)], "hookInstance": str(uuid.uuid4())}
        response = requests.post(f"{base_url}/cds-services/{SERVICE}", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return len(response.json()["cards"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        cards_returned = sum(pool.map(call, range(HOOK_CALLS)))

    # Every scrape, whichever worker answers it, sees the merged count of all workers.
    for _ in range(WORKERS * 2):
        assert _latency_count(base_url) == HOOK_CALLS
    worker_files = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("histogram_*.db")}
    assert len(worker_files) >= 2, "the hook calls should have been spread over several workers"

    items = feedback_items(DISTINCT_FEEDBACK)
    issuer = Store.from_url(env["DATABASE_URL"], migrate=False)
    issue_cards(issuer, items)
    issuer.dispose()
    statuses = post_all(base_url, items)
    assert statuses == [200] * (2 * DISTINCT_FEEDBACK)

    report = subprocess.run(
        [str(BIN / "rrmm-cds"), "report", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert report.returncode == 0, report.stderr
    summary = orjson.loads(report.stdout)
    assert summary["feedback_total"] == DISTINCT_FEEDBACK
    assert cards_returned > 0
    assert cards_returned > 0
    assert summary["cards_total"] == cards_returned + DISTINCT_FEEDBACK  # plus the cards issued above
