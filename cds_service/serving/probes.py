"""Probe and metrics listeners that run as threads of the gunicorn master.

Workers can all be busy (a burst of slow hook calls, a stuck FHIR server): Kubernetes probes
answered by a worker would then time out and restart a pod that is only busy. These listeners
live in the master, which never handles requests:

- ``RRMM_CDS_PROBE_PORT`` (production default 8081): ``GET /healthz`` 200 while the master runs;
  ``GET /readyz`` 200 when the master is not shutting down, has a live worker that has loaded the
  app, and the store answers
  (checked at most every 2 s, with the store's own connect timeout), else 503;
- ``RRMM_CDS_METRICS_PORT`` (production default 9090): ``GET /metrics``, every worker's samples
  merged (prometheus multiprocess mode); in production the public port does not serve it.

Both answer JSON (or the Prometheus text format), send no server banner, and give a connection at
most 5 s to send its request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

log = logging.getLogger(__name__)

READINESS_CACHE_S = 2.0
_REQUEST_TIMEOUT_S = 5.0


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Callable[[], tuple[int, bytes, str]]] = {}
    timeout = _REQUEST_TIMEOUT_S
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        route = self.routes.get(self.path.split("?", 1)[0])
        if route is None:
            status, body, content_type = 404, _outcome("not-found", "Not Found"), "application/json"
        else:
            try:
                status, body, content_type = route()
            except Exception as exc:  # a probe must answer whatever happens
                log.warning("probe failed", extra={"event": "probe", "error_type": type(exc).__name__})
                status, body, content_type = 503, _outcome("transient", "not ready"), "application/json"
        self.send_response_only(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - probes are not logged
        return


def _outcome(code: str, text: str) -> bytes:
    return orjson.dumps(
        {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}
    )


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A probe client that went away or stalled: one JSON line, no traceback on stderr.
        import sys

        log.info("probe connection dropped", extra={"event": "probe", "error_type": type(sys.exc_info()[1]).__name__})


def _serve(host: str, port: int, routes: dict[str, Callable[[], tuple[int, bytes, str]]], name: str) -> Any:
    handler = type(f"{name}Handler", (_Handler,), {"routes": routes})
    server = _QuietServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    log.info("listening", extra={"event": "startup", "component": name, "host": f"{host}:{port}"})
    return server


class _Readiness:
    """Master-side readiness: workers alive, not shutting down, the store answering."""

    def __init__(self, arbiter: Any) -> None:
        from cds_service.config import Settings
        from cds_service.store import Store

        self.arbiter = arbiter
        # Opened now (in the master, before probes arrive); it connects on the first probe.
        self._store: Any = Store.from_url(Settings.from_env().database_url, migrate=False)
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._store_ok = False

    def _store_answers(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at < READINESS_CACHE_S:
                return self._store_ok
            self._store_ok = self._store.ping()
            # No pooled connection stays open in the master: workers forked later would inherit it.
            self._store.dispose()
            self._checked_at = time.monotonic()
            return self._store_ok

    def __call__(self) -> tuple[int, bytes, str]:
        from cds_service.serving.gunicorn_glue import booted_workers

        workers = booted_workers(list(getattr(self.arbiter, "WORKERS", {}) or {}))
        listening = bool(getattr(self.arbiter, "LISTENERS", None))
        store = self._store_answers()
        ready = workers > 0 and listening and store
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {"workers": workers > 0, "accepting": listening, "store": store},
        }
        return (200 if ready else 503), orjson.dumps(body), "application/json"


def start_probe_listener(host: str, port: int, arbiter: Any) -> Any:
    readiness = _Readiness(arbiter)
    routes = {
        "/healthz": lambda: (200, b'{"status":"ok"}', "application/json"),
        "/readyz": readiness,
    }
    return _serve(host, port, routes, "probes")


def _metrics() -> tuple[int, bytes, str]:
    from cds_service.observability import metrics  # the app's own exposition (loaded with it)

    if not metrics.multiprocess_enabled():
        # The master's own registry holds no worker's figures: only the merged files do.
        return 503, _outcome("not-supported", "metrics need PROMETHEUS_MULTIPROC_DIR"), "application/json"
    payload, content_type = metrics.render_latest()
    return 200, payload, content_type


def start_metrics_listener(host: str, port: int) -> Any:
    return _serve(host, port, {"/metrics": _metrics}, "metrics")
