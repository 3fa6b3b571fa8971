"""A rolling restart loses no request: two gunicorn masters behind nginx, one SIGTERMed under load.

The sequence is the one deploy/k8s gives a pod that is replaced: it is taken out of the endpoints
(here: nginx reloaded with that upstream marked down) while its preStop sleep runs, then its
gunicorn gets SIGTERM and must finish what it holds, while nginx sends everything to the other
master. Every request of the clients hammering nginx meanwhile must get its 200. (A bare SIGTERM
while traffic is still routed to the master does lose requests: gunicorn resets connections it
accepted but had not started, which is why the manifests have the preStop sleep.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from integration.servers import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (Debian: nginx-light)"),
]
CLIENTS = 4
LOAD_SECONDS = 6.0
SIGTERM_AFTER_S = 2.0
PRE_STOP_S = 1.0  # the manifests sleep 10 s; nginx here drops the upstream at once on reload

NGINX_CONF = """
{user}
daemon off;
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    upstream rrmm_cds {{ server 127.0.0.1:{a}{a_down}; server 127.0.0.1:{b}; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://rrmm_cds;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


def start_master(tmp: Path, name: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RRMM_CDS_ENV": "development", "RRMM_CDS_LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"sqlite:///{tmp / 'store.sqlite3'}"}
    for name_ in ("RRMM_CDS_AUTH", "RRMM_CDS_PUBLIC_BASE_URL", "RRMM_CDS_METRICS_PORT", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name_, None)
    log = (tmp / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "cds_service.cli", "serve", "--port", str(port), "--workers", "1", "--threads", "4"],
        cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def wait_for(url: str, processes: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), "a server exited during start-up"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in time")


def test_sigterm_of_one_master_under_load_loses_no_request(tmp_path: Path) -> None:
    request = subprocess.run(
        [sys.executable, "-m", "cds_service.cli", "fixtures", "request", "len-sensitive", "--hook", "patient-view"],
        capture_output=True, check=True, timeout=60, cwd=tmp_path,
    ).stdout
    port_a, port_b, port = free_port(), free_port(), free_port()
    run = tmp_path / "nginx"
    run.mkdir()
    def write_config(a_down: bool) -> None:
        (run / "nginx.conf").write_text(NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "", run=run, a=port_a, b=port_b, port=port,
            a_down=" down" if a_down else ""))

    write_config(a_down=False)
    master_a = start_master(tmp_path, "a", port_a)
    master_b = start_master(tmp_path, "b", port_b)
    nginx = subprocess.Popen(["nginx", "-p", str(run), "-c", str(run / "nginx.conf"), "-e", str(run / "nginx-error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes = [master_a, master_b, nginx]
    try:
        for upstream in (port_a, port_b):
            wait_for(f"http://127.0.0.1:{upstream}/healthz", processes)
        wait_for(f"http://127.0.0.1:{port}/healthz", processes)
        url = f"http://127.0.0.1:{port}/cds-services/rrmm-relapse-guidance"
        results: list[int | str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + LOAD_SECONDS

        def client() -> None:
            # A connection per request: an nginx reload closes idle keep-alive client connections,
            # which is the reload's business, not the restart's.
            with requests.Session() as session:
                while time.monotonic() < stop_at:
                    try:
                        response = session.post(url, data=request, timeout=30,
                                                headers={"Content-Type": "application/json", "Connection": "close"})
                        outcome: int | str = response.status_code
                        if outcome == 200 and "cards" not in response.json():
                            outcome = "no cards key"
                    except requests.RequestException as error:
                        outcome = type(error).__name__
                    with lock:
                        results.append(outcome)

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(SIGTERM_AFTER_S)
        with lock:
            before = len(results)
        # The pod leaves the endpoints (preStop sleeping), then its server gets SIGTERM.
        write_config(a_down=True)
        subprocess.run(["nginx", "-p", str(run), "-c", str(run / "nginx.conf"), "-e", str(run / "nginx-error.log"),
                        "-s", "reload"], check=True, timeout=10, capture_output=True)
        time.sleep(PRE_STOP_S)
        master_a.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(LOAD_SECONDS + 40)
        assert master_a.wait(30) == 0, "the SIGTERMed master did not shut down cleanly"
        after = len(results) - before
        failures = [r for r in results if r != 200]
        assert before > 0 and after > 0, (before, after)
        errors = "\n".join(line for line in (run / "nginx-error.log").read_text().splitlines() if "[warn]" not in line)[-2000:] if (run / "nginx-error.log").exists() else ""
        assert not failures, f"{len(failures)} of {len(results)} requests lost: {failures[:10]}\n{errors}"
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
