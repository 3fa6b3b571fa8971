"""Slow clients (slowloris): the service stays reachable, probes keep answering.

Before the front proxy and the deadline worker, six connections trickling one header byte every
2 s took every worker of the service down and 7 of 9 health probes timed out.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import requests

from cds_service import samples
from cds_service.services import discovery_document
from cds_service.serving.proxy import find_nginx

from .servers import Slowloris, free_port, serve, service_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICE = discovery_document()["services"][0]
SLOW_CLIENTS = 50
ANSWER_BOUND_S = 3.0


def hook_request() -> dict:
    persona = samples.personas()[0]
    return samples.hook_request(persona, SERVICE["hook"], samples.utc_today(), prefetch_templates=SERVICE["prefetch"])


@pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (.ci/run installs it)")
def test_serve_behind_nginx_answers_calls_and_probes_under_50_slow_clients(tmp_path: Path) -> None:
    probe_port = free_port()
    with serve(tmp_path, "--probe-port", str(probe_port)) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        slow = Slowloris("127.0.0.1", port, SLOW_CLIENTS)
        body = hook_request()
        answered = probes = 0
        try:
            for _ in range(6):
                assert slow.trickle() == SLOW_CLIENTS  # nginx keeps them waiting, nothing else
                started = time.monotonic()
                call = requests.post(f"{server.base_url}/cds-services/{SERVICE['id']}", json=body, timeout=ANSWER_BOUND_S)
                assert call.status_code == 200, call.text[:300]
                answered += 1
                probe = requests.get(f"http://127.0.0.1:{probe_port}/readyz", timeout=ANSWER_BOUND_S)
                assert probe.status_code == 200, probe.text
                probes += 1
                time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        finally:
            slow.close()
        print(f"slowloris x{SLOW_CLIENTS}: {answered} hook calls and {probes} readiness probes answered")
        assert answered == probes == 6


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Trickle a byte per 0.5 s until the server closes the connection; seconds it took."""
    started = time.monotonic()
    sock.settimeout(0.5)
    while time.monotonic() - started < seconds:
        try:
            sock.send(b"a")
            if sock.recv(1) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    return None


def test_dev_server_without_proxy_drops_a_client_that_trickles_its_headers(tmp_path: Path) -> None:
    env = service_env(tmp_path, RRMM_CDS_HEADER_TIMEOUT="2")
    with serve(tmp_path, "--proxy", "off", env=env) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        slow = Slowloris("127.0.0.1", port, 1)
        try:
            took = _closed_within(slow.sockets[0], 15)
        finally:
            slow.close()
        # The header deadline (2 s) plus the worker's first wait for data (at most 5 s).
        assert took is not None and took < 9, f"slow client still connected after 15 s ({took})"


def test_master_probe_answers_while_every_worker_thread_is_held(tmp_path: Path) -> None:
    probe_port = free_port()
    env = service_env(tmp_path, RRMM_CDS_HEADER_TIMEOUT="30")
    with serve(tmp_path, "--proxy", "off", "--workers", "1", "--threads", "1", "--probe-port", str(probe_port),
               env=env) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        slow = Slowloris("127.0.0.1", port, 3)
        try:
            slow.trickle()
            time.sleep(0.5)
            with pytest.raises(requests.Timeout):
                requests.get(server.base_url + "/healthz", timeout=1.5)  # the only thread is held
            for path in ("/healthz", "/readyz"):
                started = time.monotonic()
                answer = requests.get(f"http://127.0.0.1:{probe_port}{path}", timeout=ANSWER_BOUND_S)
                assert answer.status_code == 200, answer.text
                assert time.monotonic() - started < 1.0
                assert "Server" not in answer.headers
        finally:
            slow.close()


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("proxy_mode", ["off", "on"])
def test_refusals_of_the_http_layer_are_operation_outcomes(tmp_path: Path, proxy_mode: str) -> None:
    if proxy_mode == "on" and find_nginx() is None:
        pytest.skip("nginx is not installed")
    with serve(tmp_path, "--proxy", proxy_mode) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        huge_token = b"Bearer " + b"a" * 40_000
        oversized = _raw(port, b"GET /cds-services HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: " + huge_token + b"\r\n\r\n")
        assert oversized.startswith(b"HTTP/1.1 401"), oversized[:200]
        assert b'"code":"login"' in oversized and b"<html" not in oversized.lower()
        broken = _raw(port, b"GET /cds-services HTTP/1.1\r\nHost: x\r\nConnection: close\r\nBad Header\r\n\r\n")
        assert broken.startswith(b"HTTP/1.1 400"), broken[:200]
        assert b'"resourceType":"OperationOutcome"' in broken and b"<html" not in broken.lower()
        normal = requests.get(server.base_url + "/cds-services", timeout=10)
        assert "gunicorn" not in normal.headers.get("Server", "")  # no gunicorn banner
        assert normal.headers["Cache-Control"] == "no-store" and normal.headers["X-Content-Type-Options"] == "nosniff"
        long_uri = _raw(port, b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert long_uri.split(b" ", 2)[1] in (b"414", b"400"), long_uri[:200]
        assert b'"resourceType":"OperationOutcome"' in long_uri and b"<html" not in long_uri.lower()
