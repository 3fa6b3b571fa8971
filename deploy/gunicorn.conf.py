"""Gunicorn settings for rrmm-cds (``gunicorn -c deploy/gunicorn.conf.py 'cds_service.app:create_app()'``).

Environment overrides: PORT (8080), GUNICORN_WORKERS / WEB_CONCURRENCY (default from the CPUs
this container may use), GUNICORN_TIMEOUT (30 s), PROMETHEUS_MULTIPROC_DIR
(/tmp/rrmm-cds-metrics).

Access lines are JSON objects with method, path (no query string), status, duration and request
id; headers are never logged, so tokens and JWTs cannot reach the access log.
"""

from __future__ import annotations

import gc
import math
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from gunicorn.glogging import Logger

# -- Prometheus multiprocess mode -------------------------------------------------------------
# Must be in the environment before anything imports prometheus_client: this file is read before
# the application is loaded (preload_app below loads it right after, in the master).
METRICS_DIR = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/rrmm-cds-metrics"))
# The preloaded application creates its (unused) master-process samples on import.
METRICS_DIR.mkdir(parents=True, exist_ok=True)


def _cpu_limit() -> int:
    """CPUs this process may use: the cgroup v2 quota if any, else the affinity mask."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, min(available, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, available)


def _int_env(*names: str, default: int) -> int:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return int(value)
    return default


# Generation-0 threshold raised from 700: see post_worker_init.
GC_THRESHOLDS = (50_000, 20, 100)

# -- server socket and workers ----------------------------------------------------------------
bind = f"0.0.0.0:{_int_env('PORT', default=8080)}"
# Hook calls are CPU-bound (parse, index, rules) with I/O waits on FHIR fetches: two workers per
# CPU plus one keeps cores busy while some workers wait on the network.
workers = _int_env("GUNICORN_WORKERS", "WEB_CONCURRENCY", default=2 * _cpu_limit() + 1)
worker_class = "sync"
# Load the application (knowledge base, schemas, terminology, migrations of the SQLite store) once
# in the master; workers share it copy-on-write and start in milliseconds. post_fork gives each
# worker its own database connections (cds_service.app.after_fork reviews what else a fork shares).
preload_app = True
# The outbound fetch budget defaults to 15 s; the worker timeout leaves margin above it.
timeout = _int_env("GUNICORN_TIMEOUT", default=30)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so slow leaks cannot accumulate; jitter avoids synchronized restarts.
max_requests = 2000
max_requests_jitter = 200
# Refuse oversized request lines/headers early (bodies are limited by the app: 413).
limit_request_line = 8190
limit_request_fields = 100
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "rrmm-cds"

# -- logging ----------------------------------------------------------------------------------
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


class JsonAccessLogger(Logger):
    """Gunicorn logger whose access lines are single JSON objects."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        line = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": "access",
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": _status_code(resp),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "bytes": getattr(resp, "sent", None),
            "request_id": _response_header(resp, "x-request-id"),
            "remote": environ.get("REMOTE_ADDR"),
        }
        try:
            self.access_log.info(orjson.dumps(line).decode())
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


logger_class = JsonAccessLogger


# -- server hooks -----------------------------------------------------------------------------
def on_starting(server: Any) -> None:
    """Start every master with an empty metrics directory (stale files would be merged in)."""
    if METRICS_DIR.exists():
        shutil.rmtree(METRICS_DIR)
    METRICS_DIR.mkdir(parents=True, exist_ok=True)


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: the master's objects out of the collector's reach, its own connections.

    A collection walks (and so writes to) every object it tracks: freezing first keeps the pages
    of the preloaded application shared with the master (gc.freeze only relinks list heads).
    """
    gc.freeze()
    app = getattr(worker.app, "callable", None)  # the application preload_app built in the master
    if app is not None:
        from cds_service.app import after_fork

        after_fork(app)


def post_worker_init(worker: Any) -> None:
    """Tune the garbage collector once the app is loaded in this worker.

    A 1-10 MB hook request becomes hundreds of thousands of short-lived objects; with the default
    thresholds the collector runs many passes over them (and over the app's long-lived objects)
    per request. Freezing what start-up built and raising the first threshold cut the parse and
    index cost of large requests measurably (see benchmarks/ and README "Performance").
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def child_exit(server: Any, worker: Any) -> None:
    """Let prometheus-client drop the live-gauge files of a worker that is gone."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# -- deployment: settings checked once, /metrics on its own port --------------------------------
def _check_settings() -> None:
    """A bad configuration stops gunicorn with one line while it reads this file: before the
    preloaded application (or any worker) fails on it with a traceback."""
    from cds_service.config import ConfigError, Settings

    try:
        Settings.from_env()
    except ConfigError as exc:
        print(f"rrmm-cds: configuration error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def when_ready(server: Any) -> None:
    """RRMM_CDS_METRICS_PORT: serve the merged /metrics from a thread in this master."""
    from cds_service.observability.metrics_server import when_ready as start_metrics_server

    start_metrics_server(server)


_check_settings()
