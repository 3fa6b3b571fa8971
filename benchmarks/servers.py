"""Servers the HTTP benchmarks start and stop: one process each, on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUNICORN_CONFIG = REPO / "deploy" / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def venv_bin(name: str) -> str:
    """A console script of the Python running this benchmark (the project venv)."""
    return str(Path(sys.executable).parent / name)


class Server:
    """A server process; ``ready_path`` answers 200 once it serves."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        ready_path: str,
        env: dict[str, str] | None = None,
        cwd: Path = REPO,
    ) -> None:
        self.name = name
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(argv),
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = 120, interval: float = 0.02) -> float:
        """Seconds from the start of the process to the first 200 on ``ready_path``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up (status {self.process.returncode})")
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=2) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - self.started
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(interval)
        raise RuntimeError(f"{self.name} did not become ready in {timeout:g} s")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server's process and its live children have used."""
        total = 0.0
        for pid in [self.process.pid, *children(self.process.pid)]:
            with contextlib.suppress(OSError):  # a child that just exited
                total += process_cpu_seconds(pid)
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime


def gunicorn_server(
    name: str,
    app: str,
    workdir: Path,
    *,
    workers: int | None = 1,
    env: dict[str, str] | None = None,
    source: Path = REPO,
) -> Server:
    """``app`` under the shipped gunicorn configuration (``deploy/gunicorn.conf.py``), access log off.

    ``workers=None`` keeps the configuration's own worker count. ``source``: another checkout of
    the project (its configuration and code: gunicorn puts its working directory first on the path)."""
    port = free_port()
    environment = {
        "PORT": str(port),  # a baseline checkout's configuration from before RRMM_CDS_BIND
        "RRMM_CDS_BIND": f"127.0.0.1:{port}",
        # The master's probe and metrics listeners would collide between the servers compared.
        "RRMM_CDS_PROBE_PORT": "0",
        "RRMM_CDS_METRICS_PORT": "0",
        "GUNICORN_LOG_LEVEL": "warning",
        "RRMM_CDS_LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{workdir / (name + '-store.sqlite3')}",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / (name + "-prometheus")),
        **(env or {}),
    }
    if workers is not None:
        environment["GUNICORN_WORKERS"] = str(workers)
    if source != REPO:
        environment["PYTHONPATH"] = str(source)
    config = source / "deploy" / "gunicorn.conf.py"
    argv = [venv_bin("gunicorn"), "-c", str(config), "--access-logfile", "/dev/null", app]
    return Server(name, argv, port=port, ready_path="/cds-services", env=environment, cwd=source)
