"""``/metrics`` on its own port (``RRMM_CDS_METRICS_PORT``), served by a thread in the server master.

The public port then never exposes metrics (the proxy and the Ingress route only the CDS Hooks
paths), and a scrape is answered even while every worker is busy. The thread merges the workers'
multiprocess files (``PROMETHEUS_MULTIPROC_DIR``); it imports only prometheus-client's collector
and exposition code, never the service's metric objects, so the master creates no samples itself.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)

ENVIRONMENT_VARIABLE = "RRMM_CDS_METRICS_PORT"


def metrics_port(environ: dict[str, str] | None = None) -> int | None:
    """The configured port, None when unset; a bad value is a clear start-up error."""
    raw = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{ENVIRONMENT_VARIABLE} must be a port number (1-65535), got {raw!r}")
    return int(raw)


def start_metrics_server(port: int, host: str = "0.0.0.0") -> Any:
    """Serve the merged metrics on ``host:port`` from a daemon thread; returns the HTTP server."""
    from prometheus_client import CollectorRegistry, multiprocess
    from prometheus_client.exposition import start_http_server

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    log.info("metrics server listening", extra={"port": port})
    return server


def when_ready(_server: Any = None) -> None:
    """gunicorn ``when_ready`` hook body: start the metrics thread in the master if configured."""
    port = metrics_port()
    if port is not None:
        start_metrics_server(port)
