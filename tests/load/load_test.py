#!/usr/bin/env python3
"""Concurrency test for the service under gunicorn: N clients, mixed valid and invalid requests.

Usage
  python tests/load/load_test.py --spawn [--clients 20] [--duration 30] [--workers 2]
  python tests/load/load_test.py --base-url http://127.0.0.1:8080 [--clients 20] [--duration 30]

--spawn starts ``rrmm-cds serve`` on a free loopback port with a private SQLite store and client
authentication disabled, and stops it afterwards.  Only loopback targets are accepted: this is a
test of our own process, never a tool to point at someone else's.

Every client sends, in a random but seeded order: valid hook calls for each service (sample
personas), discovery, valid and invalid feedback, malformed JSON, wrong content types, hook
mismatches, unknown services and bodies over the size limit.  The run fails (exit 1) on any 5xx,
any connection error or timeout, any gunicorn worker restart, or a dead service at the end.
A JSON summary goes to stdout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
REQUEST_TIMEOUT_S = 30.0
BODY_LIMIT = 1024 * 1024  # the spawned service's RRMM_CDS_MAX_REQUEST_BYTES


@dataclass(frozen=True)
class Probe:
    name: str
    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = "application/json"
    expect: tuple[int, ...] = (200,)


@dataclass
class Results:
    statuses: Counter[int] = field(default_factory=Counter)
    by_probe: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def build_probes() -> list[Probe]:
    from cds_service import samples
    from cds_service.services import discovery_document

    services = discovery_document()["services"]
    today = samples.utc_today()
    probes: list[Probe] = [Probe("discovery", "GET", "/cds-services", content_type=None)]
    for persona in samples.personas()[:3]:
        for service in services:
            request = samples.hook_request(persona, service["hook"], today, prefetch_templates=service["prefetch"])
            path = f"/cds-services/{service['id']}"
            probes.append(Probe(f"call:{service['id']}", "POST", path, json.dumps(request).encode()))
    first = services[0]
    other_hook = next(s["hook"] for s in services if s["hook"] != first["hook"])
    path = f"/cds-services/{first['id']}"
    feedback = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "overridden",
                              "outcomeTimestamp": "2026-01-01T00:00:00Z"}]}
    probes += [
        Probe("malformed-json", "POST", path, b'{"hook": ', expect=(400,)),
        Probe("top-level-array", "POST", path, b"[1, 2, 3]", expect=(400,)),
        Probe("wrong-content-type", "POST", path, b"hook=x", content_type="text/plain", expect=(415,)),
        Probe("hook-mismatch", "POST", path, json.dumps({
            "hook": other_hook, "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "p1"}}).encode(), expect=(400,)),
        Probe("unknown-service", "POST", "/cds-services/no-such-service", b"{}", expect=(404,)),
        Probe("no-data-412", "POST", path, json.dumps({
            "hook": first["hook"], "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "p1"}}).encode(), expect=(412,)),
        Probe("too-large", "POST", path, b'{"pad": "' + b"x" * (BODY_LIMIT + 10) + b'"}', expect=(413, 400)),
        Probe("deeply-nested", "POST", path, b"[" * 20000 + b"]" * 20000, expect=(400,)),
        Probe("feedback", "POST", f"{path}/feedback", json.dumps(feedback).encode()),
        Probe("feedback-invalid", "POST", f"{path}/feedback", b'{"feedback": {}}', expect=(400,)),
    ]
    return probes


def check_loopback(base_url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK or parts.username or parts.password:
        raise SystemExit("load_test: only http:// loopback base URLs are allowed")
    return parts


def send(parts: urllib.parse.SplitResult, connection: http.client.HTTPConnection | None,
         probe: Probe) -> tuple[int, http.client.HTTPConnection | None]:
    """Send one probe; a kept-alive connection the server has since closed is retried once fresh."""
    headers = {"Connection": "keep-alive"}
    if probe.content_type:
        headers["Content-Type"] = probe.content_type
    for attempt in (1, 2):
        reused = connection is not None
        if connection is None:
            connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=REQUEST_TIMEOUT_S)
        try:
            connection.request(probe.method, probe.path, body=probe.body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
            connection.close()
            connection = None
            if reused and attempt == 1:
                continue  # the idle connection was closed by the server (keep-alive timeout)
            raise
        # The server may not read a refused oversized body: never reuse that connection.
        if probe.name == "too-large" or response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = None
        return response.status, connection
    raise AssertionError("unreachable")


def client_loop(parts: urllib.parse.SplitResult, probes: list[Probe], deadline: float, seed: int,
                results: Results) -> None:
    rng = random.Random(seed)
    connection: http.client.HTTPConnection | None = None
    while time.monotonic() < deadline:
        probe = rng.choice(probes)
        started = time.perf_counter()
        try:
            status, connection = send(parts, connection, probe)
        except (OSError, http.client.HTTPException) as exc:
            connection = None
            # An oversized body may be cut off by the server while we are still sending it.
            if probe.name != "too-large":
                with results.lock:
                    results.errors[f"{probe.name}: {type(exc).__name__}"] += 1
            continue
        elapsed = (time.perf_counter() - started) * 1000
        with results.lock:
            results.statuses[status] += 1
            results.by_probe[probe.name] += 1
            results.latencies_ms.append(elapsed)
            if status not in probe.expect:
                results.unexpected[f"{probe.name}: {status}"] += 1
    if connection is not None:
        connection.close()


def wait_until_up(base_url: str, timeout_s: float) -> None:
    parts = urllib.parse.urlsplit(base_url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"load_test: the service at {base_url} did not come up")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn_service(workdir: Path, workers: int) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {**os.environ, "RRMM_CDS_ENV": "development", "RRMM_CDS_AUTH": "disabled",
           "DATABASE_URL": f"sqlite:///{workdir / 'store.sqlite3'}",
           "RRMM_CDS_MAX_REQUEST_BYTES": str(BODY_LIMIT), "RRMM_CDS_LOG_LEVEL": "INFO"}
    env.pop("RRMM_CDS_PUBLIC_BASE_URL", None)
    log_path = workdir / "service.log"
    executable = Path(sys.executable).with_name("rrmm-cds")
    command = [str(executable) if executable.exists() else "rrmm-cds", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    return process, f"http://127.0.0.1:{port}", log_path


def run(args: argparse.Namespace) -> dict[str, Any]:
    probes = build_probes()
    process = None
    log_path: Path | None = None
    with tempfile.TemporaryDirectory(prefix="rrmm-load-") as tmp:
        if args.spawn:
            process, base_url, log_path = spawn_service(Path(tmp), args.workers)
        else:
            base_url = args.base_url
        parts = check_loopback(base_url)
        try:
            wait_until_up(base_url, 60)
            results = Results()
            deadline = time.monotonic() + args.duration
            threads = [threading.Thread(target=client_loop, args=(parts, probes, deadline, args.seed + i, results))
                       for i in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(args.duration + REQUEST_TIMEOUT_S + 10)
            wait_until_up(base_url, 5)  # still alive afterwards
            boots = None
            if log_path is not None:
                boots = len(re.findall(r"Booting worker with pid", log_path.read_text(errors="replace")))
        finally:
            if process is not None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
    latencies = sorted(results.latencies_ms) or [0.0]
    server_errors = sum(count for status, count in results.statuses.items() if status >= 500)
    summary = {
        "clients": args.clients,
        "duration_s": args.duration,
        "requests": sum(results.statuses.values()),
        "statuses": {str(k): v for k, v in sorted(results.statuses.items())},
        "server_errors": server_errors,
        "connection_errors": dict(results.errors),
        "unexpected_statuses": dict(results.unexpected),
        "latency_ms": {"p50": latencies[len(latencies) // 2], "p95": latencies[int(len(latencies) * 0.95)],
                       "max": latencies[-1]},
        "worker_boots": boots,
        "workers": args.workers if args.spawn else None,
    }
    summary["ok"] = (server_errors == 0 and not results.errors and summary["requests"] > 0
                     and (boots is None or boots == args.workers))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--spawn", action="store_true", help="start rrmm-cds serve on a free loopback port")
    target.add_argument("--base-url", help="an already running service on loopback")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers when spawning")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 200 or not 0 < args.duration <= 600:
        parser.error("--clients must be 1..200 and --duration 0..600 s")
    summary = run(args)
    print(json.dumps(summary, indent=2))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
