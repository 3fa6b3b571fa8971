"""Card preview page (development mode only): see a sample patient's cards as an EHR shows them.

``GET /`` serves a plain HTML/CSS/JS page (no build step). The page asks this blueprint for a CDS
Hooks request built from a sample persona (``GET /preview/api/request``: prefetch filled from the
persona's chart with the service's own templates, dates shifted to the service's today, draft
orders for the order hooks), POSTs it to the real ``/cds-services/{id}`` endpoint on the same
origin, and renders the cards; card ``detail`` Markdown is rendered server-side by
``POST /preview/api/markdown`` with raw HTML escaped.

``register_preview(app, settings)`` does nothing in production: the page and its API are not served.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request

from cds_service import samples
from cds_service.errors import operation_outcome
from cds_service.preview.safe_markdown import render
from cds_service.services import SERVICES

MAX_MARKDOWN_ITEMS = 200
# The page loads only its own files; no inline script or style, so injected markup cannot run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

preview = Blueprint(
    "preview",
    __name__,
    static_folder="static",
    static_url_path="/preview/static",
    template_folder="templates",
)


def register_preview(app: Flask, settings: Any) -> None:
    """Serve the preview page only in development, with RRMM_CDS_PREVIEW on (the default) and
    client JWTs not required: the page and its API take no token."""
    if getattr(settings, "production", True) or not getattr(settings, "preview", False):
        return
    if getattr(settings, "auth", "required") != "disabled":
        return
    app.register_blueprint(preview)


def _service_for(hook: str) -> str:
    return next(service.id for service in SERVICES.values() if service.hook == hook)


def _refuse(status: int, message: str, code: str) -> Response:
    response = jsonify(operation_outcome(message, code=code))
    response.status_code = status
    return response


def _today() -> date:
    """The service's own evaluation date (the app clock), so shifted charts line up with it."""
    state = current_app.extensions.get("rrmm_cds")
    clock = getattr(state, "clock", None)
    return clock().date() if clock else samples.utc_today()


@preview.get("/")
def page() -> Response:
    response = Response(render_template("preview/index.html", hooks=samples.HOOKS))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@preview.get("/preview/api/personas")
def personas() -> Response:
    return jsonify(
        [
            {
                "id": p.id,
                "patientId": p.patient_id,
                "title": p.title,
                "summary": p.summary,
                "intent": p.intent,
                "draft": p.draft_label,
                "expect": p.expect,
            }
            for p in samples.personas()
        ]
    )


@preview.get("/preview/api/request")
def hook_request() -> Response:
    persona_id = request.args.get("persona", "")
    hook = request.args.get("hook", "patient-view")
    if hook not in samples.HOOKS:
        return _refuse(400, f"hook must be one of {', '.join(samples.HOOKS)}", "invalid")
    try:
        persona = samples.persona(persona_id)
    except samples.UnknownPersona:
        return _refuse(404, "no sample patient has this id", "not-found")
    service_id = _service_for(hook)
    body = samples.hook_request(persona, hook, _today(), prefetch_templates=SERVICES[service_id].prefetch)
    return jsonify({"serviceId": service_id, "url": f"/cds-services/{service_id}", "request": body})


@preview.post("/preview/api/markdown")
def markdown_html() -> Response:
    document = request.get_json(silent=True)
    texts = document.get("markdown") if isinstance(document, dict) else None
    if not isinstance(texts, list) or len(texts) > MAX_MARKDOWN_ITEMS or not all(isinstance(t, str) for t in texts):
        return _refuse(400, f'body must be {{"markdown": [string, ...]}} with at most {MAX_MARKDOWN_ITEMS} items',
                       "invalid")
    return jsonify({"html": [render(text) for text in texts]})
