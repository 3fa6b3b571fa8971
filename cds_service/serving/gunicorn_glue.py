"""gunicorn pieces shared by ``rrmm-cds serve`` and ``deploy/gunicorn.conf.py``.

- :func:`write_operation_outcome` replaces gunicorn's HTML error page (400/414/431/500...) with a
  FHIR OperationOutcome; a too-large header (431) gets the service's uniform 401, because the
  header that is too large is nearly always an oversized Authorization. Installed on import, as
  is the removal of gunicorn's ``Server`` header (no server banner).
- :class:`JsonLogger`: gunicorn's own lines (error log, access log when enabled) as the same JSON
  objects the application writes, scrubbed of credentials: one JSON log stream on stderr.
- :class:`DeadlineThreadWorker`: gthread with a wall-clock bound on reading a request's headers
  (``RRMM_CDS_HEADER_TIMEOUT``) and its body (``RRMM_CDS_BODY_TIMEOUT``), so a client trickling
  bytes cannot hold a worker thread. Without nginx in front this only bounds each slow client;
  the front proxy is what keeps the service reachable under many of them.
- server hooks: :func:`check_configuration` (once, in the master, before any worker),
  :func:`start_master_listeners` (probe and metrics ports, threads of the master),
  :func:`forget_worker` and :func:`remove_metrics_directory`.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import orjson
from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http import wsgi
from gunicorn.workers.gthread import TConn, ThreadWorker

from cds_service.errors import UNAUTHORIZED_BODY, issue_code, operation_outcome
from cds_service.logging_json import JsonFormatter, scrub
from cds_service.serving.env_numbers import int_from_env
from cds_service.serving.proxy import DEFAULT_BODY_TIMEOUT_S, DEFAULT_HEADER_TIMEOUT_S, env_seconds

_SECURITY_HEADERS = "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"


def error_page(status: int, reason: str) -> bytes:
    """The bytes gunicorn sends for a request it refuses itself (never echoing the request)."""
    extra = ""
    if status == 431:
        status, body, extra = 401, UNAUTHORIZED_BODY, "WWW-Authenticate: Bearer\r\n"
    else:
        code = "exception" if status >= 500 else issue_code(status)
        body = orjson.dumps(operation_outcome(reason or "request refused", code=code))
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = reason or "Error"
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{_SECURITY_HEADERS}{extra}\r\n"
    )
    return head.encode("latin-1") + body


def write_operation_outcome(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, error_page(int(status_int), reason))


util.write_error = write_operation_outcome

_default_headers = wsgi.Response.default_headers


def _headers_without_banner(self: Any) -> list[str]:
    """gunicorn's default response headers without ``Server: gunicorn`` (no server banner)."""
    return [header for header in _default_headers(self) if not header.lower().startswith("server:")]


wsgi.Response.default_headers = _headers_without_banner


class JsonLogger(Logger):
    """gunicorn's logger writing the application's JSON lines (see cds_service.logging_json)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        try:
            self.access_log.info(
                "access",
                extra={
                    "event": "access",
                    "method": environ.get("REQUEST_METHOD"),
                    "path": scrub(str(environ.get("PATH_INFO", "")))[:200],
                    "status": _status_code(resp),
                    "duration_ms": round(request_time.total_seconds() * 1000, 1),
                    "request_id": _response_header(resp, "x-request-id"),
                },
            )
        except Exception:  # logging must never break a response
            self.error_log.exception("failed to write access log line")


def _status_code(resp: Any) -> int | None:
    status = getattr(resp, "status_code", None) or str(getattr(resp, "status", "")).split(" ")[0]
    try:
        return int(status)
    except (TypeError, ValueError):
        return None


def _response_header(resp: Any, name: str) -> str | None:
    for header, value in getattr(resp, "headers", []) or []:
        if header.lower() == name:
            return value
    return None


# -- slow clients -------------------------------------------------------------------------------
class _DeadlineReader:
    """The socket as the request parser sees it: every recv() bounded by the connection's deadline."""

    def __init__(self, sock: Any, conn: DeadlineConn) -> None:
        self._sock = sock
        self._conn = conn

    def recv(self, size: int) -> bytes:
        deadline = self._conn.read_deadline
        if deadline is None:
            return self._sock.recv(size)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("client did not send the request in time")
        previous = self._sock.gettimeout()
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size)
        finally:
            self._sock.settimeout(previous)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DeadlineConn(TConn):
    read_deadline: float | None = None

    def init(self) -> None:
        fresh = not self.initialized
        super().init()
        unreader = getattr(self.parser, "unreader", None)
        if fresh and unreader is not None and hasattr(unreader, "sock"):
            unreader.sock = _DeadlineReader(unreader.sock, self)


class DeadlineThreadWorker(ThreadWorker):
    """gthread whose threads give up on a client that has not sent its headers (body) in time."""

    header_timeout_s = env_seconds("RRMM_CDS_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT_S)
    body_timeout_s = env_seconds("RRMM_CDS_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT_S)

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except BlockingIOError:
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        self.enqueue_req(DeadlineConn(self.cfg, client_sock, client_addr, listener.getsockname()))

    def handle(self, conn: Any) -> Any:
        # Counted from when a thread takes the connection: the whole header within the bound.
        conn.read_deadline = time.monotonic() + self.header_timeout_s
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        conn.read_deadline = time.monotonic() + self.body_timeout_s
        try:
            return super().handle_request(req, conn)
        finally:
            conn.read_deadline = None


# -- server hooks -------------------------------------------------------------------------------
def check_configuration() -> None:
    """Validate the settings once in the master: one clear line and exit status 2 on a bad one.

    Workers build the app from the same environment; refusing here means a bad production
    configuration never reaches them (no traceback per worker).
    """
    from cds_service.config import ConfigError, Settings
    from cds_service.logging_json import configure_logging
    from cds_service.security.client_auth import build_verifier

    configure_logging(os.environ.get("RRMM_CDS_LOG_LEVEL", "INFO"))  # the master's lines are JSON too
    try:
        settings = Settings.from_env()
        settings.check_servable()
        # The trusted-issuer file and the JWT settings (no JWKS URL is fetched here).
        build_verifier(settings, replay_guard=_NoReplayGuard())
    except ConfigError as exc:
        print(f"rrmm-cds: configuration error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


class _NoReplayGuard:
    def claim_jti(self, issuer: str, jti: str, expires_at: Any) -> bool:  # pragma: no cover - never called
        raise RuntimeError("the master verifies no tokens")


def start_master_listeners(server: Any, *, probe_port: int | None, metrics_port: int | None) -> None:
    from cds_service.serving.probes import start_metrics_listener, start_probe_listener

    host = os.environ.get("RRMM_CDS_PROBE_HOST", "0.0.0.0")
    if probe_port:
        start_probe_listener(host, probe_port, server)
    if metrics_port:
        start_metrics_listener(host, metrics_port)


def _booted_marker(pid: int) -> Path | None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(directory, f"booted-{pid}") if directory else None


def mark_worker_booted(worker: Any) -> None:
    """post_worker_init: this worker has loaded the app (the master's /readyz counts it)."""
    marker = _booted_marker(os.getpid())
    if marker is not None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()


def booted_workers(pids: Any) -> int:
    """How many of ``pids`` have loaded the app (see mark_worker_booted)."""
    return sum(1 for pid in pids if (marker := _booted_marker(pid)) is not None and marker.exists())


def forget_worker(server: Any, worker: Any) -> None:
    """child_exit: drop a dead worker's live-gauge files (prometheus multiprocess mode)."""
    from cds_service.observability.prefork import mark_worker_dead

    mark_worker_dead(worker.pid)
    marker = _booted_marker(worker.pid)
    if marker is not None:
        marker.unlink(missing_ok=True)


def remove_metrics_directory(directory: str | Path | None = None) -> None:
    """on_exit: the master removes the per-worker metric files it no longer needs."""
    chosen = directory or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if chosen:
        shutil.rmtree(chosen, ignore_errors=True)


def port_from_env(name: str, default: int | None) -> int | None:
    """A port setting: unset = ``default``; ``0`` = off."""
    if not os.environ.get(name, "").strip():
        return default
    return int_from_env(name, default=0, minimum=0, maximum=65535, what="a port number") or None


logging.getLogger("gunicorn.error").propagate = False
