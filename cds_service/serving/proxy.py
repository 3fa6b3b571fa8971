"""The nginx front proxy: render its configuration, and run it in front of ``rrmm-cds serve``.

The one template (``nginx.conf.template`` next to this module) serves both uses:

- production: ``deploy/proxy/nginx.conf`` is :func:`render` with :data:`PRODUCTION` values (a test
  keeps the file in step); nginx listens on :8080 and forwards to gunicorn on 127.0.0.1:8000;
- development: ``rrmm-cds serve`` renders it for its port into a private runtime directory and
  runs ``nginx -g 'daemon off;'`` as a child when an nginx binary is installed
  (:class:`ProxyProcess`), so slow clients meet nginx, not a worker thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from cds_service.serving.env_numbers import int_from_env

# Whole-header and body-inactivity bounds for clients (seconds; RRMM_CDS_HEADER_TIMEOUT /
# RRMM_CDS_BODY_TIMEOUT also bound the development server's worker threads).
DEFAULT_HEADER_TIMEOUT_S = 10
DEFAULT_BODY_TIMEOUT_S = 30
NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")


@dataclass(frozen=True)
class ProxyConfig:
    listen: str = "8080"
    upstream: str = "127.0.0.1:8000"
    runtime_dir: str = "/tmp"
    error_log: str = "stderr"
    access_log: str = "/dev/stdout rrmm_json"
    header_timeout_s: int = DEFAULT_HEADER_TIMEOUT_S
    body_timeout_s: int = DEFAULT_BODY_TIMEOUT_S
    read_timeout_s: int = 60
    max_body: str = "32m"


PRODUCTION = ProxyConfig()


def render(config: ProxyConfig = PRODUCTION) -> str:
    template = resources.files(__package__).joinpath("nginx.conf.template").read_text(encoding="utf-8")
    # One or more gunicorn addresses (space-separated): a refused connection moves on to the next.
    servers = "\n        ".join(f"server {address} max_fails=0;" for address in config.upstream.split())
    values = {
        "LISTEN": config.listen,
        "UPSTREAM_SERVERS": servers,
        "RUNTIME_DIR": config.runtime_dir,
        "ERROR_LOG": config.error_log,
        "ACCESS_LOG": config.access_log,
        "HEADER_TIMEOUT": str(config.header_timeout_s),
        "BODY_TIMEOUT": str(config.body_timeout_s),
        "READ_TIMEOUT": str(config.read_timeout_s),
        "MAX_BODY": config.max_body,
    }
    for name, value in values.items():
        template = template.replace(f"@@{name}@@", value)
    return template


def find_nginx() -> str | None:
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def max_body_for(max_request_bytes: int) -> str:
    """nginx's body bound for a service limit: room for the service's own drained 413 (4x)."""
    return f"{max(1, -(-4 * max_request_bytes // (1024 * 1024)) + 1)}m"


class ProxyProcess:
    """nginx in the foreground as a child of ``rrmm-cds serve`` (development)."""

    def __init__(self, binary: str, config: ProxyConfig, *, own_socket: bool = True) -> None:
        self.runtime = Path(tempfile.mkdtemp(prefix="rrmm-cds-nginx-"))
        # Started as root, nginx's workers run as an unprivileged user: they must reach the socket.
        self.runtime.chmod(0o755)
        # gunicorn listens on a private Unix socket in the runtime directory.
        self.socket_path = self.runtime / "gunicorn.sock"
        self.config = replace(
            config,
            upstream=f"unix:{self.socket_path}" if own_socket else config.upstream,
            runtime_dir=str(self.runtime),
            error_log=str(self.runtime / "error.log"),
            access_log="off",
        )
        self.path = self.runtime / "nginx.conf"
        self.path.write_text(render(self.config), encoding="utf-8")
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None

    def check(self) -> str | None:
        """nginx's verdict on the rendered file: None when it is valid, else its message."""
        result = subprocess.run(
            [self.binary, "-t", "-q", "-p", str(self.runtime), "-c", str(self.path), "-g", "daemon off;"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        return None if result.returncode == 0 else (result.stderr.strip().splitlines() or ["nginx -t failed"])[-1]

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-p", str(self.runtime), "-c", str(self.path), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_ends_with_parent(),
        )

    def reload(self, upstream: str) -> None:
        """Point nginx at other gunicorn addresses (graceful: requests in flight finish where they are).

        This is how a backend is drained before it is restarted: take it out, wait, stop it.
        """
        self.config = replace(self.config, upstream=upstream)
        staged = self.path.with_suffix(".next")
        staged.write_text(render(self.config), encoding="utf-8")
        os.replace(staged, self.path)  # nginx never reads a half-written file
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)
            time.sleep(0.5)  # new workers take over; the old ones finish what they hold

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(self.runtime, ignore_errors=True)

    def wait_listening(self, host: str, port: int, timeout_s: float = 10.0) -> bool:
        import socket

        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.process is not None and self.process.poll() is not None:
                return False
            try:
                socket.create_connection((host, port), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False


def env_seconds(name: str, default: int) -> int:
    """A timeout in whole seconds (> 0); a bad value stops with one line and exit status 2."""
    return int_from_env(name, default=default, minimum=1, what="a positive number of seconds")


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _ends_with_parent() -> Callable[[], None] | None:
    """What the nginx child runs before exec so that it ends when ``rrmm-cds serve`` does, even when
    the master is SIGKILLed and its exit hooks never run: otherwise the orphan keeps the public
    port and answers 502 for a service that is gone. Linux only (prctl); elsewhere None."""
    path = ctypes.util.find_library("c")
    try:
        prctl = ctypes.CDLL(path, use_errno=True).prctl if path else None
    except (OSError, AttributeError):
        prctl = None
    if prctl is None:
        return None
    parent = os.getpid()

    # Resolved before the fork: the child calls only prctl and getppid before exec.
    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent ended before the request was made
            os._exit(1)

    return arm
