"""/metrics on its own port (RRMM_CDS_METRICS_PORT), answered by the gunicorn master's thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from integration.servers import free_port, start_service

pytestmark = [pytest.mark.integration]


def test_metrics_port_serves_the_workers_merged_samples(tmp_path: Path) -> None:
    port = free_port()
    with start_service(tmp_path, {"RRMM_CDS_METRICS_PORT": str(port)}) as base_url:
        call = requests.post(f"{base_url}/cds-services/rrmm-relapse-guidance", timeout=30, json={
            "hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/1", "patientId": "p1"},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "p1"}},
        })
        assert call.status_code in (200, 412)
        scraped = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert 'rrmm_cds_http_requests_total{' in scraped.text
        assert 'service="rrmm-relapse-guidance"' in scraped.text


def test_serve_removes_its_own_metrics_directory_at_exit(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "RRMM_CDS_ENV": "development",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "cds_service.cli", "serve", "--port", str(port), "--workers", "2"],
                               cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        assert [p.name for p in scratch.glob("rrmm-cds-metrics-*")], "serve made no metrics directory"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert not list(scratch.glob("rrmm-cds-metrics-*")), "the metrics directory outlived the server"
