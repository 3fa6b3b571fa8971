"""Processes for the resilience suite: ``rrmm-cds serve`` (with or without nginx in front),
gunicorn with deploy/gunicorn.conf.py, slow clients. Loopback only; every loop is bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from integration.servers import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class Server:
    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_http(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float = 120) -> None:
    """Until ``url`` answers below 500 (generous bounds: CI runs this beside other test processes)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"server exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout_s} s:\n{log_path.read_text()[-3000:]}")


def service_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("RRMM_CDS_", "PROMETHEUS"))}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
            "RRMM_CDS_LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
    )
    env.update(extra)
    return env


@contextmanager
def _running(argv: list[str], env: dict[str, str], tmp_path: Path, port: int, name: str) -> Iterator[Server]:
    """``argv`` started in ``tmp_path`` with its output in a log file; stopped when the block ends."""
    log_path = tmp_path / f"{name}-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_http(server.base_url + "/healthz", process, log_path)
        yield server
    finally:
        server.stop()


@contextmanager
def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``rrmm-cds serve`` on a free port (its own arguments after ``args``)."""
    port = free_port()
    argv = [str(BIN / "rrmm-cds"), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with _running(argv, env or service_env(tmp_path), tmp_path, port, "serve") as server:
        yield server


@contextmanager
def gunicorn(tmp_path: Path, env: dict[str, str], *, workers: int = 2) -> Iterator[Server]:
    """gunicorn with deploy/gunicorn.conf.py on a free loopback port."""
    port = free_port()
    env = {**env, "RRMM_CDS_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
    argv = [str(BIN / "gunicorn"), "-c", str(REPO / "deploy" / "gunicorn.conf.py"), "cds_service.app:create_app()"]
    with _running(argv, env, tmp_path, port, "gunicorn") as server:
        yield server


class Slowloris:
    """Connections that send a request line and then one header byte at a time."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.create_connection((host, port), timeout=5)
            sock.sendall(b"POST /cds-services/rrmm-relapse-guidance HTTP/1.1\r\nHost: x\r\nX-a: ")
            self.sockets.append(sock)

    def trickle(self) -> int:
        """One more byte on every connection; returns how many are still open."""
        alive = []
        for sock in self.sockets:
            try:
                sock.send(b"a")
                alive.append(sock)
            except OSError:
                sock.close()
        self.sockets = alive
        return len(alive)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets = []
