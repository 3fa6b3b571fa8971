"""The relapse timeline: a SMART on FHIR app under ``/timeline/`` and its explain endpoint.

- ``GET /timeline/`` (``index.html``) and ``/timeline/launch.html``: the static app
  (``static/``; its browser libraries in ``static/vendor``, filled by ``rrmm-cds timeline vendor``
  from the pinned npm lock file). See docs/timeline.md.
- ``POST /timeline/api/explain``: :mod:`cds_service.timeline.explain`, authorised by the timeline
  token of the card link (:mod:`cds_service.timeline.token`), required in production.
- The treatment and referral cards get the SMART link (:mod:`cds_service.timeline.links`).

``register_timeline(app, state)`` is called by ``cds_service.app.create_app``.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request, send_from_directory
from werkzeug.exceptions import NotFound

from cds_service.errors import CdsHttpError, operation_outcome
from cds_service.request_body import read_json_body
from cds_service.security import rate_limit
from cds_service.security.limits import count_value_resources
from cds_service.timeline.explain import SERVICE_ID, explain, patient_id_of
from cds_service.timeline.links import tokens_for
from cds_service.timeline.token import TimelineTokens, TokenRefused

log = logging.getLogger("cds_service.timeline")

# SMART App Launch 2.0 scopes: read and search of the patient's data (the discovery's searches).
EHR_SCOPES = "launch openid fhirUser patient/*.rs"
STANDALONE_SCOPES = "launch/patient openid fhirUser patient/*.rs"
STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
# The app loads only its own files; it talks to the EHR's FHIR server (any https origin, and
# loopback ones for development and the browser test) and to this service.
# Who may frame it is the deployment's choice (Settings.timeline_frame_ancestors).
def content_security_policy(frame_ancestors: tuple[str, ...] = ("*",)) -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"connect-src 'self' https: http://127.0.0.1:* http://localhost:*; frame-ancestors {' '.join(frame_ancestors)}; "
        "base-uri 'none'; form-action 'none'"
    )


def register_timeline(app: Flask, state: Any) -> None:
    settings = state.settings
    tokens = tokens_for(settings)  # the card link's decorator (cds_service.pipeline) uses the same key
    if not (VENDOR_DIR / "manifest.json").is_file():
        log.warning("the timeline app's browser libraries are missing: run `rrmm-cds timeline vendor`",
                    extra={"event": "config", "component": "timeline"})
    blueprint = Blueprint("timeline", __name__)
    policy = content_security_policy(settings.timeline_frame_ancestors)

    @blueprint.get("/timeline/")
    def index() -> Response:
        return _static("index.html", policy)

    @blueprint.get("/timeline/config.json")
    def app_config() -> Response:
        """What launch.html needs: the client id the EHR registered, the scopes, the services' paths."""
        response = Response(orjson.dumps({
            "clientId": settings.timeline_client_id,
            "scopes": {"ehr": EHR_SCOPES, "standalone": STANDALONE_SCOPES},
            "explain": "api/explain",
            "discovery": "../cds-services",
            "serviceId": SERVICE_ID,
            "development": not settings.production,
        }), mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    @blueprint.get("/timeline/<path:name>")
    def static_file(name: str) -> Response:
        return _static(name, policy)

    @blueprint.post("/timeline/api/explain")
    def explain_route() -> Response:
        document = read_json_body(settings.max_request_bytes)
        resources = document.get("resources") if isinstance(document, dict) else None
        if count_value_resources(resources) > settings.max_resources:
            raise CdsHttpError(413, f"the request carries more than {settings.max_resources} FHIR resources",
                               code="too-costly")
        patient_id = patient_id_of(document)
        _authorise(tokens, settings, patient_id, state.clock())
        evaluation_date = state.clock().date()
        try:
            body = explain(document, patient_id, state.pipeline.kb, evaluation_date)
        except CdsHttpError:
            raise
        except Exception as exc:  # noqa: BLE001 - no input may produce a 5xx; the type only (no patient data)
            log.error("explain failed", extra={"event": "explain_error", "error_type": type(exc).__name__})
            g.internal_error = True  # the request log says "error", not a refusal of the client's input
            raise CdsHttpError(422, "the record could not be explained", code="processing") from None
        g.outcome = "ok"
        response = Response(orjson.dumps(body), mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    app.register_blueprint(blueprint)


def _authorise(tokens: TimelineTokens | None, settings: Any, patient_id: str, now: Any) -> None:
    authorization = request.headers.get("Authorization")
    if not authorization and not settings.timeline_auth_required:
        return  # development: the preview page opens the timeline without a token
    try:
        if tokens is None:
            raise TokenRefused("no timeline key configured")
        tokens.verify(authorization, patient_id, now)
    except TokenRefused as exc:
        log.info("timeline token refused", extra={"event": "auth", "outcome": "unauthorized", "reason": exc.reason})
        raise TimelineUnauthorized() from None
    # A verified token spends the hook calls' rate-limit buckets (a digest of it, in memory only).
    rate_limit.spend(current_app.extensions.get("rrmm_rate_limits"),
                     "timeline:" + hashlib.sha256(str(authorization).encode()).hexdigest())


class TimelineUnauthorized(CdsHttpError):
    headers = {"WWW-Authenticate": 'Bearer realm="rrmm-cds-timeline"'}  # noqa: RUF012 - read-only

    def __init__(self) -> None:
        super().__init__(401, "a valid timeline token for this patient is required", code="login")


def _static(name: str, policy: str) -> Response:
    if name.startswith("vendor/") and not VENDOR_DIR.is_dir():
        response = Response(orjson.dumps(operation_outcome(
            "the timeline's browser libraries are not installed: run `rrmm-cds timeline vendor`",
            code="not-found")), status=404, mimetype="application/json")
        return response
    try:
        response = send_from_directory(STATIC_DIR, name, max_age=0)
    except NotFound:
        raise CdsHttpError(404, "no such timeline file", code="not-found") from None
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
