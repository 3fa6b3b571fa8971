"""Gunicorn settings for rrmm-cds (``gunicorn -c deploy/gunicorn.conf.py 'cds_service.app:create_app()'``).

gunicorn runs behind the nginx front proxy (``deploy/proxy/nginx.conf``: nginx on :8080 buffers
every request, then forwards it here). Environment:

- ``RRMM_CDS_BIND`` (``127.0.0.1:8000``): where gunicorn listens; only nginx should reach it;
- ``RRMM_CDS_PROBE_PORT`` (``8081``, ``0`` = off): /healthz and /readyz answered by a thread of the
  master, so probes succeed while every worker is busy (cds_service.serving.probes);
- ``RRMM_CDS_METRICS_PORT`` (``9090``, ``0`` = off): /metrics of all workers, from the master; in
  production the public port does not serve /metrics;
- ``GUNICORN_WORKERS`` / ``WEB_CONCURRENCY`` (default from the CPUs this container may use),
  ``GUNICORN_TIMEOUT`` (30 s), ``PROMETHEUS_MULTIPROC_DIR`` (/tmp/rrmm-cds-metrics).

Shutdown: SIGTERM lets workers finish the requests in flight for up to ``graceful_timeout`` (30 s);
with the pod's 10 s preStop pause that is 40 s, inside a 50 s termination grace period.

Logging: one JSON stream on stderr. gunicorn's own lines use the application's JSON format
(cds_service.serving.gunicorn_glue.JsonLogger); the application writes one line per request, so
gunicorn's access log is off. Headers are never logged, so tokens and JWTs cannot reach the log.

A bad production configuration stops the master before any worker starts: one line on stderr,
exit status 2 (cds_service.serving.gunicorn_glue.check_configuration).
"""

from __future__ import annotations

import gc
import math
import os
import shutil
from pathlib import Path
from typing import Any

# -- Prometheus multiprocess mode -------------------------------------------------------------
# Must be in the environment before anything imports prometheus_client: this file is read before
# the application is loaded (preload_app below loads it right after, in the master).
METRICS_DIR = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/rrmm-cds-metrics"))
# The preloaded application creates its (unused) master-process samples on import.
METRICS_DIR.mkdir(parents=True, exist_ok=True)

from cds_service.serving import gunicorn_glue  # noqa: E402 - after PROMETHEUS_MULTIPROC_DIR is set
from cds_service.serving.env_numbers import int_from_env  # noqa: E402

# Refuse a bad configuration here, once, before gunicorn forks anything.
gunicorn_glue.check_configuration()
PROBE_PORT = gunicorn_glue.port_from_env("RRMM_CDS_PROBE_PORT", 8081)
METRICS_PORT = gunicorn_glue.port_from_env("RRMM_CDS_METRICS_PORT", 9090)


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


def _int_env(*names: str, default: int, minimum: int = 1) -> int:
    """A count or number of seconds; a bad value stops gunicorn with one line and exit status 2."""
    what = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
    return int_from_env(*names, default=default, minimum=minimum, what=what)


# Generation-0 threshold raised from 700: see post_worker_init.
GC_THRESHOLDS = (50_000, 20, 100)

# -- server socket and workers ----------------------------------------------------------------
bind = os.environ.get("RRMM_CDS_BIND", "").strip() or "127.0.0.1:8000"
# Hook calls are CPU-bound (parse, index, rules) with I/O waits on FHIR fetches: two workers per
# CPU plus one keeps cores busy while some workers wait on the network. Sync workers are safe
# here because nginx hands over only complete, buffered requests.
workers = _int_env("GUNICORN_WORKERS", "WEB_CONCURRENCY", default=2 * _cpu_limit() + 1)
worker_class = "sync"
# Load the application (knowledge base, schemas, terminology, migrations of the SQLite store) once
# in the master; workers share it copy-on-write and start in milliseconds. post_fork gives each
# worker its own database connections (cds_service.app.after_fork reviews what else a fork shares).
preload_app = True
# The outbound fetch budget defaults to 15 s; the worker timeout leaves margin above it.
timeout = _int_env("GUNICORN_TIMEOUT", default=30, minimum=0)  # gunicorn: 0 = no worker timeout
PRESTOP_SECONDS = 10
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so slow leaks cannot accumulate; jitter avoids synchronized restarts.
max_requests = 2000
max_requests_jitter = 200
# Request line and header bounds (bodies are limited by the app: 413). Headers up to 32 KiB reach
# the app, as nginx lets them through (large_client_header_buffers 4 32k); a long JWT gets the
# uniform 401 there, a larger header the same 401 from gunicorn_glue's error page.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 32 * 1024
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "rrmm-cds"
# No control socket (gunicorn 23+): nothing uses it, and its default path is per user.
control_socket_disable = True

# -- logging ----------------------------------------------------------------------------------
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logger_class = gunicorn_glue.JsonLogger
JsonAccessLogger = gunicorn_glue.JsonLogger  # the name earlier versions of this file exported


# -- server hooks -----------------------------------------------------------------------------
def on_starting(server: Any) -> None:
    """Start every master with an empty metrics directory (stale files would be merged in)."""
    if METRICS_DIR.exists():
        shutil.rmtree(METRICS_DIR)
    METRICS_DIR.mkdir(parents=True, exist_ok=True)


def when_ready(server: Any) -> None:
    """Probe and metrics listeners: threads of the master, independent of busy workers."""
    gunicorn_glue.start_master_listeners(server, probe_port=PROBE_PORT, metrics_port=METRICS_PORT)


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
    gunicorn_glue.mark_worker_booted(worker)


def child_exit(server: Any, worker: Any) -> None:
    """Let prometheus-client drop the live-gauge files of a worker that is gone."""
    gunicorn_glue.forget_worker(server, worker)


def on_exit(server: Any) -> None:
    """The metrics directory goes with the master."""
    gunicorn_glue.remove_metrics_directory(METRICS_DIR)
