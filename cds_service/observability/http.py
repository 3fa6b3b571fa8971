"""Flask wiring: /healthz, /readyz, /metrics and per-request metrics.

``init_observability(app, readiness_checks=...)`` is called once by ``create_app``. Readiness
checks are named zero-argument callables returning True when that dependency is usable (the
knowledge base is loaded, the store answers); any exception counts as not ready.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request

from cds_service.observability import metrics

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], bool]
_EXTENSION_KEY = "rrmm_cds.readiness_checks"
_METRICS_KEY = "rrmm_cds.serve_metrics"
# Endpoints that should not observe themselves (probe and scrape traffic would drown the signal).
_UNMEASURED_ENDPOINTS = frozenset({"observability.healthz", "observability.readyz", "observability.metrics"})
_UNMATCHED = "unmatched"

blueprint = Blueprint("observability", __name__)


def init_observability(
    app: Flask, readiness_checks: Mapping[str, ReadinessCheck] | None = None, *, serve_metrics: bool = True
) -> None:
    """``serve_metrics=False`` (production): /metrics is not on this app's port; the gunicorn
    master serves it on RRMM_CDS_METRICS_PORT (cds_service.serving.probes)."""
    app.extensions[_EXTENSION_KEY] = dict(readiness_checks or {})
    app.extensions[_METRICS_KEY] = serve_metrics
    app.register_blueprint(blueprint)
    app.before_request(_start_timer)
    app.after_request(_observe_request)


def add_readiness_check(app: Flask, name: str, check: ReadinessCheck) -> None:
    app.extensions.setdefault(_EXTENSION_KEY, {})[name] = check


@blueprint.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers HTTP. Deliberately checks nothing else (a slow database
    must not make Kubernetes restart healthy workers)."""
    return _json_response({"status": "ok"}, 200)


@blueprint.get("/readyz")
def readyz() -> Response:
    checks: Mapping[str, ReadinessCheck] = current_app.extensions.get(_EXTENSION_KEY, {})
    results = {name: _run_check(name, check) for name, check in checks.items()}
    ready = all(results.values())
    body = {"status": "ready" if ready else "not ready", "checks": results}
    return _json_response(body, 200 if ready else 503)


@blueprint.get("/metrics", endpoint="metrics")
def metrics_endpoint() -> Response:
    if not current_app.extensions.get(_METRICS_KEY, True):
        body = {"resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "not-found", "diagnostics": "Not Found"}]}
        return _json_response(body, 404)
    payload, content_type = metrics.render_latest()
    return Response(payload, status=200, content_type=content_type)


def _run_check(name: str, check: ReadinessCheck) -> bool:
    try:
        return bool(check())
    except Exception as error:  # readiness must answer, whatever the dependency does
        log.warning("readiness check failed", extra={"component": name, "error_type": type(error).__name__})
        return False


def _start_timer() -> None:
    g.rrmm_cds_request_started = time.perf_counter()


def _observe_request(response: Response) -> Response:
    started = g.pop("rrmm_cds_request_started", None)
    if response.status_code == 401:
        # The auth layer names the failed check in g.auth_failure_reason (a bounded label, see
        # cds_service.security.jwt_auth.REASON_LABELS); other 401s count as "other".
        metrics.record_auth_failure(g.get("auth_failure_reason") or "other")
    if started is None or request.endpoint in _UNMEASURED_ENDPOINTS:
        return response
    endpoint = request.url_rule.rule if request.url_rule is not None else _UNMATCHED
    service = _service_label(response.status_code)
    metrics.REQUESTS.labels(
        service=service, endpoint=endpoint, method=request.method, status=str(response.status_code)
    ).inc()
    metrics.REQUEST_LATENCY.labels(service=service, endpoint=endpoint).observe(time.perf_counter() - started)
    return response


def _service_label(status_code: int) -> str:
    """The called service id, or a fixed word; unknown ids (404) never become label values,
    so callers cannot grow the metric set without bound."""
    view_args = request.view_args or {}
    service = next((value for key, value in view_args.items() if "service" in key), None)
    if request.url_rule is None:
        return _UNMATCHED
    if not isinstance(service, str):
        return "none"
    if status_code == 404:
        return "unknown"
    return service[:64]


def _json_response(body: object, status: int) -> Response:
    return Response(orjson.dumps(body), status=status, content_type="application/json")
