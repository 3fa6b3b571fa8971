"""``rrmm-cds serve``: run the service on gunicorn with embedded defaults (no config file needed)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import Any

from cds_service.config import Settings
from cds_service.observability import metrics_server
from cds_service.observability.prefork import ENVIRONMENT_VARIABLE as MULTIPROC_VARIABLE
from cds_service.observability.prefork import mark_worker_dead, prepare_multiprocess_directory

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4
# Above the outbound fetch budget, so a slow FHIR server yields a 412, not a killed worker.
MIN_WORKER_TIMEOUT_S = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the CDS Hooks service (gunicorn)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help=f"worker processes (default {DEFAULT_WORKERS})"
    )
    parser.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS, help=f"threads per worker (default {DEFAULT_THREADS})"
    )
    parser.set_defaults(func=run)


def gunicorn_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    return {
        "bind": f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}",
        "workers": max(1, args.workers),
        "threads": max(1, args.threads),
        "worker_class": "gthread",
        "timeout": max(MIN_WORKER_TIMEOUT_S, int(settings.fetch_budget * 2)),
        "graceful_timeout": 20,
        # The app logs one JSON line per request itself; gunicorn's access log would repeat the
        # URL in another format.
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "forwarded_allow_ips": "127.0.0.1",
        # gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): several
        # services on one host would fight over it, and nothing here uses it.
        "control_socket_disable": True,
        # Each worker writes its metric samples to the shared directory; /metrics merges them.
        "child_exit": _forget_worker,
        # RRMM_CDS_METRICS_PORT: /metrics also on its own port, from a thread in this master.
        "when_ready": metrics_server.when_ready,
    }


def _forget_worker(server: Any, worker: Any) -> None:
    mark_worker_dead(worker.pid)


def base_url(host: str, port: int, settings: Settings) -> str:
    if settings.public_base_url:
        return settings.public_base_url
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # where a browser here reaches it
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"


def discovery_url(host: str, port: int, settings: Settings) -> str:
    return f"{base_url(host, port, settings)}/cds-services"


def start_up_line(host: str, port: int, settings: Settings) -> str:
    """What `serve` prints first: the discovery URL, and in development the card preview page."""
    line = f"rrmm-cds ({settings.env}) discovery: {discovery_url(host, port, settings)}"
    if not settings.production:
        line += f"  preview: {base_url(host, port, settings)}/"
    return line


def _migrate_sqlite_store(database_url: str) -> bool:
    """Migrate a SQLite store once here, in the master, so the workers find it ready."""
    if not database_url.startswith("sqlite"):
        return True  # server databases: `rrmm-cds db upgrade` (the release's migration Job)
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.commands.db import DatabaseProblem, describe_database_error, open_store

    try:
        store = open_store(database_url, create_directory=True)
    except DatabaseProblem as problem:
        print(f"rrmm-cds serve: {problem}", file=sys.stderr)
        return False
    try:
        store.upgrade()
        return True
    except SQLAlchemyError as error:
        print(f"rrmm-cds serve: {describe_database_error(database_url, error)}", file=sys.stderr)
        return False
    finally:
        store.dispose()


def run(args: argparse.Namespace) -> int:
    # Fail here, once, with a clear message, rather than in every worker.
    settings = Settings.from_env()
    if not 0 < args.port < 65536:
        print("rrmm-cds serve: --port must be between 1 and 65535", file=sys.stderr)
        return 2
    try:
        metrics_server.metrics_port()
    except ValueError as exc:
        print(f"rrmm-cds serve: {exc}", file=sys.stderr)
        return 2
    if not _migrate_sqlite_store(settings.database_url):
        return 2
    print(start_up_line(args.host, args.port, settings), flush=True)
    # Before any worker forks (and before prometheus_client is imported anywhere), so every
    # worker's samples land in one directory and /metrics reports the whole server.
    chosen_here = not os.environ.get(MULTIPROC_VARIABLE)
    metrics_dir = prepare_multiprocess_directory()
    options = gunicorn_options(args, settings)
    if chosen_here:
        # A temporary directory of this run's own: gone when the master exits, not left per start.
        options["on_exit"] = lambda _server: shutil.rmtree(metrics_dir, ignore_errors=True)
    from cds_service.commands._gunicorn_app import ServiceApplication  # gunicorn: not for --help

    ServiceApplication(options).run()
    return 0
