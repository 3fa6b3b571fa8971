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

from cds_service import schemas
from cds_service.config import Settings
from cds_service.errors import RETRY_AFTER_S, CdsHttpError, StoreUnavailable, issue_code, operation_outcome
from cds_service.logging_json import configure_logging
from cds_service.observability import init_observability, record_feedback, record_unknown_card_feedback
from cds_service.observability.audit import AUDIT_REFUSED, AUDIT_WRITTEN, record_hook_response
from cds_service.openapi import register_openapi
from cds_service.pipeline import Pipeline, build_pipeline, find_service
from cds_service.preview import register_preview
from cds_service.security.client_auth import install_client_auth
from cds_service.security.limits import too_many_resources
from cds_service.security.rate_limit import install_rate_limits
from cds_service.services import discovery_document
from cds_service.store import FeedbackError, FeedbackItemsRefused, Store, resolve_audit_salt

log = logging.getLogger("cds_service.http")

Clock = Callable[[], datetime]
JSON_MIMETYPES = frozenset({"application/json"})
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


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    settings = settings or Settings.from_env()
    settings.check_servable()
    configure_logging(settings)
    schemas.load_all()
    state = AppState(
        settings=settings,
        clock=clock or utc_now,
        store=Store.from_url(
            settings.database_url,
            comment_retention_days=settings.feedback_comment_days or None,
        ),
        pipeline=build_pipeline(settings),
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
        service = find_service(service_id, state.pipeline.services)
        g.service_id = service.id
        document = _read_json_body(state.settings.max_request_bytes)
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
            return json_response({"cards": []})
        g.card_count = len(result.response["cards"])
        g.fetches = result.gather.fetches
        g.fetch_errors = result.gather.fetch_errors
        g.outcome = "handler_error" if result.handler_failed else "ok"
        # Metrics and the audit row: an answer the audit trail does not hold is not sent.
        audit = record_hook_response(
            state.store,
            resolve_audit_salt(state.settings.audit_salt, state.settings.database_url),
            result,
            kb_version=getattr(state.pipeline.kb, "version", None),
        )
        if audit == AUDIT_REFUSED:
            raise CdsHttpError(400, "the request holds a value the audit trail cannot store", code="value")
        if audit != AUDIT_WRITTEN:
            raise StoreUnavailable("the audit trail cannot be written right now; try again")
        response = json_response(result.response)
        _free_after_sending(response, document)
        return response

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
        unknown = [index for index, item in enumerate(items) if item["card"] not in issued]
        if unknown and state.settings.feedback_unknown_cards == "refuse":
            raise CdsHttpError(
                400, [f"feedback[{index}].card is not a card this service returned" for index in unknown],
                code="value",
            )
        known = [item for index, item in enumerate(items) if index not in set(unknown)]
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
            positions = [index for index, item in enumerate(items) if item["card"] in issued]
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


def _free_after_sending(response: Response, document: Any) -> None:
    """Keep the parsed request alive until the server has sent ``response``.

    Freeing the object tree of a large request costs about half of what parsing it did; WSGI
    servers close a response after writing it, so freeing there keeps that cost out of the
    latency the EHR sees. A server that never closes frees it with the response object.
    """
    holder = [document]
    response.call_on_close(holder.clear)


def _read_json_body(limit: int) -> Any:
    """Content type, size and JSON checks shared by service calls and feedback (415/413/400)."""
    if request.mimetype not in JSON_MIMETYPES:
        raise CdsHttpError(415, "Content-Type must be application/json", code="not-supported")
    if request.content_length is not None and request.content_length > limit:
        _discard_body(limit)
        raise CdsHttpError(413, f"request body is larger than {limit} bytes", code="too-costly")
    body = _read_at_most(limit + 1)
    if len(body) > limit:
        _discard_body(limit)
        raise CdsHttpError(413, f"request body is larger than {limit} bytes", code="too-costly")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses invalid UTF-8, lone surrogates, nesting deeper than 1024 and
        # out-of-range numbers: all "not acceptable JSON" for us.
        raise CdsHttpError(400, "request body is not valid JSON", code="structure") from None
    if schemas.UNSTORABLE_ESCAPE in body:
        problems = schemas.unstorable_text(document)
        if problems:
            raise CdsHttpError(400, problems, code="value")
    return document


# Most HTTP clients send the whole body before they read the answer: answering 413 at once makes
# them see a reset connection instead of our OperationOutcome. So a moderately oversized body is read
# and thrown away first (bounded in bytes and time, so a huge or trickling upload cannot hold a worker).
_DRAIN_FACTOR = 4
_DRAIN_SECONDS = 5.0


def _discard_body(limit: int) -> None:
    declared = request.content_length
    allowance = _DRAIN_FACTOR * limit
    if declared is not None and declared > allowance:
        return  # far too large: close without reading it
    # The raw WSGI input: Flask's request.stream is already cut off at MAX_CONTENT_LENGTH.
    raw = request.environ.get("wsgi.input")
    if raw is None:
        return
    deadline = time.monotonic() + _DRAIN_SECONDS
    # With a declared length nothing has been read yet: read exactly that much (some servers hand
    # over the bare socket, where reading past the body would wait for bytes that never come).
    # A chunked body was partly read through request.stream; the server's input ends with it.
    remaining = declared if declared is not None else allowance + 1
    while remaining > 0 and time.monotonic() < deadline:
        try:
            chunk = raw.read(min(1024 * 1024, remaining))
        except (OSError, ValueError):
            return
        if not chunk:
            return
        remaining -= len(chunk)


def _read_at_most(size: int) -> bytes:
    """Read the body up to ``size`` bytes; a single read() of a WSGI stream may return less."""
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = request.stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# -- errors --------------------------------------------------------------------------------------
def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CdsHttpError)
    def cds_error(exc: CdsHttpError) -> Response:
        g.outcome = f"refused {exc.status}"
        response = json_response(exc.outcome(), status=exc.status)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
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
