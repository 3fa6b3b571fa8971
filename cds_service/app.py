"""Flask application factory: discovery, service calls, feedback, CORS, errors, request logs.

``create_app(settings=None, *, clock=None)`` builds everything that is loaded once (settings,
schemas, allow-list, store, pipeline) and registers the CDS Hooks 2.0 endpoints. Other parts
(security, observability, preview) hook into the returned app; the shared state is in
``app.extensions["rrmm_cds"]`` (an :class:`AppState`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask, Response, g, request
from sqlalchemy.exc import DataError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from cds_service import gc_pause, schemas
from cds_service.config import Settings
from cds_service.errors import RETRY_AFTER_S, CdsHttpError, StoreUnavailable, issue_code, operation_outcome
from cds_service.logging_json import configure_logging
from cds_service.observability import init_observability, record_feedback, record_unknown_card_feedback
from cds_service.observability.audit import AUDIT_REFUSED, AUDIT_WRITTEN, record_hook_response
from cds_service.openapi import register_openapi
from cds_service.pipeline import Pipeline, build_pipeline, find_service
from cds_service.preview import register_preview
from cds_service.request_body import hook_call_identifiers
from cds_service.request_body import read_json_body as _read_json_body
from cds_service.security.client_auth import install_client_auth
from cds_service.security.limits import too_many_resources
from cds_service.security.rate_limit import install_rate_limits
from cds_service.services import discovery_document
from cds_service.store import FeedbackError, FeedbackItemsRefused, Store, resolve_audit_salt
from cds_service.timeline import register_timeline

log = logging.getLogger("cds_service.http")

Clock = Callable[[], datetime]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "authorization, content-type",
    "Access-Control-Max-Age": "600",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppState:
    settings: Settings
    clock: Clock
    store: Store
    pipeline: Pipeline
    audit_salt: str = ""  # resolved once (resolve_audit_salt): the key of the patient-id hash


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    if settings is None:
        # From the environment, as a server starts it: a production configuration that must not
        # serve is refused (the gunicorn master and rrmm-cds serve check it first, once).
        settings = Settings.from_env()
        settings.check_servable()
    configure_logging(settings)
    schemas.load_all()
    clock = clock or utc_now
    state = AppState(
        settings=settings,
        clock=clock,
        store=Store.from_url(
            settings.database_url,
            comment_retention_days=settings.feedback_comment_days or None,
        ),
        pipeline=build_pipeline(settings, clock),
        audit_salt=resolve_audit_salt(settings.audit_salt, settings.database_url),
    )

    app = Flask(__name__)
    # Werkzeug's own limit backs up the explicit checks in _read_json_body. One byte more than
    # ours: Werkzeug silently truncates a chunked body at its limit, and we must see the excess.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes + 1
    app.extensions["rrmm_cds"] = state
    _register_request_hooks(app)
    # After the request-id/preflight hook, before any route: client JWTs on /cds-services (01 §3).
    install_client_auth(app, settings, state.store)
    # Then per-client token buckets on hook calls and feedback (keyed by the verified issuer).
    install_rate_limits(app, settings)
    _register_routes(app, state)
    # The relapse timeline app, its explain endpoint and the card link to it (docs/timeline.md).
    register_timeline(app, state)
    register_openapi(app, [service["id"] for service in discovery_document()["services"]])
    # The card preview page at / (development mode only; absent in production).
    register_preview(app, settings)
    _register_error_handlers(app)
    init_observability(
        app,
        readiness_checks={"knowledge_base": lambda: state.pipeline.kb is not None, "store": state.store.ping},
        serve_metrics=not settings.production,
    )
    log.info("service configured", extra={"event": "startup", "env": settings.env})
    return app


def app_state(app: Flask) -> AppState:
    return app.extensions["rrmm_cds"]


def after_fork(app: Flask) -> None:
    """In a worker forked from a master that built ``app`` (gunicorn ``preload_app``).

    The knowledge base, schemas, terminology and templates are read-only and stay shared with the
    master (copy-on-write). What must not be shared is made this process's own here:

    - the store's connection pool: connections the master opened (the SQLite migrations, a
      readiness ping) are dropped without closing them (``dispose(close=False)``, SQLAlchemy's
      advice for forked children: closing would end the master's sessions); each worker connects
      on first use;
    - prometheus-client's multiprocess files (one per pid) and the outbound HTTP session (one per
      pid) already notice the new pid themselves; the outbound-deadline reaper and JWKS refresh
      threads are started lazily, so no thread was running in the master to be lost in the fork.
    """
    state = getattr(app, "extensions", {}).get("rrmm_cds")
    if state is not None:  # (another WSGI app under the same configuration has nothing to reset)
        state.store.engine.dispose(close=False)


# -- request lifecycle ---------------------------------------------------------------------------
def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def start_request() -> Response | None:
        g.started = time.perf_counter()
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        # Preflight answers before anything else (authentication included): browsers send no token.
        if request.method == "OPTIONS":
            return Response(status=204)
        return None

    @app.after_request
    def finish_request(response: Response) -> Response:
        for name, value in CORS_HEADERS.items():
            response.headers[name] = value
        # Cards and outcomes are about one patient: no cache may keep them; no content sniffing.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Request-ID"] = g.get("request_id", "")
        started = g.get("started")
        log.info(
            "request",
            extra={
                "event": "request",
                "request_id": g.get("request_id"),
                "method": request.method,
                "path": request.url_rule.rule if request.url_rule else "unmatched",
                "service": g.get("service_id"),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                "cards": g.get("card_count"),
                "fetches": g.get("fetches"),
                "fetch_errors": g.get("fetch_errors"),
                "outcome": g.get("outcome"),
            },
        )
        return response


# -- routes --------------------------------------------------------------------------------------
def _register_routes(app: Flask, state: AppState) -> None:
    @app.get("/cds-services")
    def discovery() -> Response:
        return json_response(discovery_document(state.pipeline.services))

    @app.post("/cds-services/<service_id>")
    def call_service(service_id: str) -> Response:
        # No collection while the request's object tree is alive: it holds no cycles and is freed
        # by reference counting after the answer is sent (gc_pause explains the cost otherwise).
        collection = gc_pause.pause()
        try:
            response, document = answer_hook_call(service_id)
        except BaseException:
            collection.resume()
            raise
        _free_after_sending(response, document, then=collection.resume)
        collection.resume_with(response)
        return response

    def answer_hook_call(service_id: str) -> tuple[Response, Any]:
        service = find_service(service_id, state.pipeline.services)
        g.service_id = service.id
        document = _read_json_body(state.settings.max_request_bytes, stored=hook_call_identifiers)
        if too_many_resources(document, state.settings.max_resources):
            limit = state.settings.max_resources
            raise CdsHttpError(
                413, f"the request carries more than {limit} FHIR resources", code="too-costly"
            )
        evaluation_date = state.clock().date()
        try:
            result = state.pipeline.run(service.id, document, evaluation_date)
        except CdsHttpError:
            raise
        except Exception as exc:  # noqa: BLE001 - no input may produce a 5xx (spec 01 §2)
            log.error(
                "hook call failed; answering without cards",
                extra={"event": "pipeline_error", "service": service.id, "error_type": type(exc).__name__},
            )
            g.outcome = "error"
            return json_response({"cards": []}), document
        g.card_count = len(result.response["cards"])
        g.fetches = result.gather.fetches
        g.fetch_errors = result.gather.fetch_errors
        g.outcome = "handler_error" if result.handler_failed else "ok"
        # Metrics and the audit row: an answer the audit trail does not hold is not sent.
        audit = record_hook_response(
            state.store,
            state.audit_salt,
            result,
            kb_version=getattr(state.pipeline.kb, "version", None),
        )
        if audit == AUDIT_REFUSED:
            raise CdsHttpError(400, "the request holds a value the audit trail cannot store", code="value")
        if audit != AUDIT_WRITTEN:
            raise StoreUnavailable("the audit trail cannot be written right now; try again")
        return json_response(result.response), document

    @app.post("/cds-services/<service_id>/feedback")
    def feedback(service_id: str) -> Response:
        service = find_service(service_id)
        g.service_id = service.id
        document = _read_json_body(state.settings.max_request_bytes)
        problems = schemas.problems("feedback", document)
        if problems:
            raise CdsHttpError(400, problems)
        items = _feedback_items(document["feedback"], state.settings)
        try:
            issued = state.store.issued_card_uuids([item["card"] for item in items])
        except SQLAlchemyError:
            raise StoreUnavailable() from None
        positions = [index for index, item in enumerate(items) if item["card"] in issued]
        unknown = [index for index, item in enumerate(items) if item["card"] not in issued]
        if unknown and state.settings.feedback_unknown_cards == "refuse":
            raise CdsHttpError(
                400, [f"feedback[{index}].card is not a card this service returned" for index in unknown],
                code="value",
            )
        known = [items[index] for index in positions]
        if unknown:
            # Acknowledged (the client cannot do better) but not stored: the report counts only
            # feedback on cards this service returned.
            log.warning(
                "feedback for cards this service never returned was discarded",
                extra={"event": "feedback_unknown_card", "service": service.id, "resources": len(unknown)},
            )
            record_unknown_card_feedback(service.id, len(unknown))
        try:
            stored = state.store.record_feedback(service.id, known)
        except FeedbackError as exc:
            raise CdsHttpError(400, str(exc)) from None
        except FeedbackItemsRefused as exc:
            refused = [f"feedback[{positions[index]}] could not be stored" for index in exc.refused]
            g.outcome = f"stored {exc.stored} of {len(items)}"
            raise CdsHttpError(
                400, [*refused, f"the other {len(known) - len(exc.refused)} items were stored"], code="value"
            ) from None
        except SQLAlchemyError:
            raise StoreUnavailable() from None
        record_feedback(service.id, known)
        g.outcome = f"stored {stored} of {len(items)}"
        return Response(status=200)


def _feedback_items(items: list[dict[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """The items as stored: without the free-text userComment when comments are not kept."""
    if settings.feedback_comment_days:
        return items
    stripped = []
    for item in items:
        reason = item.get("overrideReason")
        if isinstance(reason, dict) and "userComment" in reason:
            item = {**item, "overrideReason": {k: v for k, v in reason.items() if k != "userComment"}}
        stripped.append(item)
    return stripped


def _free_after_sending(response: Response, document: Any, then: Callable[[], None] | None = None) -> None:
    """Keep the parsed request alive until the server has sent ``response``, then call ``then``.

    Freeing the object tree of a large request costs about half of what parsing it did; WSGI
    servers close a response after writing it, so freeing there keeps that cost out of the
    latency the EHR sees. A server that never closes frees it with the response object.
    """
    holder = [document]

    def free() -> None:
        holder.clear()
        if then is not None:
            then()

    response.call_on_close(free)


# -- errors --------------------------------------------------------------------------------------
def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CdsHttpError)
    def cds_error(exc: CdsHttpError) -> Response:
        g.outcome = f"error {exc.status}" if g.get("internal_error") else f"refused {exc.status}"
        response = json_response(exc.outcome(), status=exc.status)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        for name, value in exc.headers.items():
            response.headers[name] = value
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc: RequestEntityTooLarge) -> Response:
        return json_response(operation_outcome("request body is too large", code="too-costly"), status=413)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 400
        if status >= 500:
            status = 503
        response = json_response(
            operation_outcome(exc.name or "request refused", code=issue_code(status)), status=status
        )
        valid_methods = getattr(exc, "valid_methods", None)
        if status == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(DataError)
    def unstorable(exc: DataError) -> Response:
        # The database refused a value the client sent (schema checks come first): the client's fault.
        log.warning("store refused a value", extra={"event": "store_refused", "error_type": type(exc).__name__})
        return json_response(
            operation_outcome("the request holds a value that cannot be stored", code="value"), status=400
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        # Only infrastructure failures get here (hook calls catch their own): say "try again".
        log.error("unexpected error", extra={"event": "unexpected_error", "error_type": type(exc).__name__})
        response = json_response(
            operation_outcome("the service cannot answer right now; try again", code="transient"), status=503
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response



def json_response(document: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(document), status=status, mimetype="application/json")
