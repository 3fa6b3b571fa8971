"""``rrmm-cds serve``: run the service on gunicorn with embedded defaults (no config file needed).

Slow clients: when an nginx binary is installed (``--proxy auto``, the default) nginx listens on
``--host``/``--port`` with the production proxy configuration (cds_service.serving.proxy) and
forwards to gunicorn on a private Unix socket, so a client trickling its request meets nginx, not a
worker. Without nginx (``--proxy off`` or none installed) gunicorn listens itself; its worker
threads still give up on a request whose headers (body) take longer than RRMM_CDS_HEADER_TIMEOUT
(RRMM_CDS_BODY_TIMEOUT), which bounds each slow client but not many of them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from cds_service.config import Settings
from cds_service.observability.prefork import ENVIRONMENT_VARIABLE, prepare_multiprocess_directory

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4
# Above the outbound fetch budget, so a slow FHIR server yields a 412, not a killed worker.
MIN_WORKER_TIMEOUT_S = 30
# Request headers up to this size reach the app (a long JWT gets the uniform 401 there); larger
# ones get the same 401 from gunicorn's error page (cds_service.serving.gunicorn_glue).
LIMIT_REQUEST_FIELD_SIZE = 32 * 1024


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
    parser.add_argument(
        "--proxy",
        choices=("auto", "on", "off"),
        default="auto",
        help="nginx in front (auto: when an nginx binary is installed; default auto)",
    )
    parser.add_argument(
        "--probe-port",
        type=int,
        default=None,
        help="port of the master's /healthz and /readyz (default RRMM_CDS_PROBE_PORT, else none)",
    )
    parser.set_defaults(func=run)


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from cds_service.serving import gunicorn_glue

    return {
        "bind": _bind(args.host, args.port),
        "workers": max(1, args.workers),
        "threads": max(1, args.threads),
        "worker_class": "cds_service.serving.gunicorn_glue.DeadlineThreadWorker",
        "timeout": max(MIN_WORKER_TIMEOUT_S, int(settings.fetch_budget * 2)),
        "graceful_timeout": 20,
        # The app logs one JSON line per request itself; gunicorn's access log would repeat it.
        "accesslog": None,
        "errorlog": "-",
        "logger_class": gunicorn_glue.JsonLogger,
        "loglevel": settings.log_level.lower(),
        "forwarded_allow_ips": "127.0.0.1",
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        # gunicorn's control socket defaults to one path per user: several services on one host
        # would fight over it, and nothing here uses it.
        "control_socket_disable": True,
        # Each worker writes its metric samples to the shared directory; /metrics merges them.
        "child_exit": gunicorn_glue.forget_worker,
        # The master's /readyz counts workers that have loaded the app.
        "post_worker_init": gunicorn_glue.mark_worker_booted,
    }


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


def _front_proxy(args: argparse.Namespace, settings: Settings) -> Any:
    from cds_service.serving import proxy

    if args.proxy == "off":
        return None
    binary = proxy.find_nginx()
    if binary is not None and not _port_free(args.host, args.port):
        print(f"rrmm-cds serve: {_bind(args.host, args.port)} is already in use", file=sys.stderr)
        raise SystemExit(2)
    if binary is None:
        if args.proxy == "on":
            print("rrmm-cds serve: --proxy on, but no nginx binary is installed", file=sys.stderr)
            raise SystemExit(2)
        return None
    front = proxy.ProxyProcess(
        binary,
        proxy.ProxyConfig(
            listen=_bind(args.host, args.port),
            header_timeout_s=proxy.env_seconds("RRMM_CDS_HEADER_TIMEOUT", proxy.DEFAULT_HEADER_TIMEOUT_S),
            body_timeout_s=proxy.env_seconds("RRMM_CDS_BODY_TIMEOUT", proxy.DEFAULT_BODY_TIMEOUT_S),
            read_timeout_s=max(60, int(settings.fetch_budget * 3)),
            max_body=proxy.max_body_for(settings.max_request_bytes),
        ),
    )
    problem = front.check()
    if problem is not None:
        front.stop()
        if args.proxy == "on":
            print(f"rrmm-cds serve: nginx refused its configuration: {problem}", file=sys.stderr)
            raise SystemExit(2)
        print(f"rrmm-cds serve: nginx unusable ({problem}); serving without it", file=sys.stderr)
        return None
    return front


def _port_free(host: str, port: int) -> bool:
    """nginx, not gunicorn, binds the public port: find out now whether it can."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def run(args: argparse.Namespace) -> int:
    from cds_service.serving import gunicorn_glue

    # Fail here, once, with a clear message, rather than in every worker.
    settings = Settings.from_env()
    settings.check_servable()
    if not 0 < args.port < 65536:
        print("rrmm-cds serve: --port must be between 1 and 65535", file=sys.stderr)
        return 2
    probe_port = args.probe_port if args.probe_port is not None else gunicorn_glue.port_from_env(
        "RRMM_CDS_PROBE_PORT", None
    )
    metrics_port = gunicorn_glue.port_from_env("RRMM_CDS_METRICS_PORT", None)
    own_metrics_dir = not os.environ.get(ENVIRONMENT_VARIABLE)
    # Before any worker forks (and before prometheus_client is imported anywhere), so every
    # worker's samples land in one directory and /metrics reports the whole server.
    metrics_dir = prepare_multiprocess_directory()
    front = _front_proxy(args, settings)
    options = gunicorn_options(args, settings)
    if front is not None:
        options["bind"] = f"unix:{front.socket_path}"

    def when_ready(server: Any) -> None:
        gunicorn_glue.start_master_listeners(server, probe_port=probe_port, metrics_port=metrics_port)
        if front is not None:
            front.start()
            if not front.wait_listening(args.host, args.port):
                server.log.error("nginx did not start listening", extra={"event": "startup"})

    def on_exit(server: Any) -> None:
        if front is not None:
            front.stop()
        if own_metrics_dir:
            gunicorn_glue.remove_metrics_directory(Path(metrics_dir))

    options["when_ready"] = when_ready
    options["on_exit"] = on_exit
    served = "behind nginx" if front is not None else "gunicorn directly"
    if not _migrate_sqlite_store(settings.database_url):
        return 2
    print(f"{start_up_line(args.host, args.port, settings)} ({served})", flush=True)
    from cds_service.commands._gunicorn_app import ServiceApplication  # gunicorn: not for --help

    try:
        ServiceApplication(options).run()
    finally:
        if front is not None:
            front.stop()
    return 0
