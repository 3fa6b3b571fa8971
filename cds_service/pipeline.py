"""The one path a hook call takes: request -> ResourceIndex -> handler -> cards.

Used by the HTTP layer (``cds_service.app``) and offline by ``rrmm-cds call``. The evaluation
date is passed in by the caller (the HTTP layer reads its clock once per request); nothing here
reads the wall clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import requests

from cds_cards.overflow import cap_cards
from cds_service import handlers, schemas
from cds_service.config import DEFAULT_MAX_CARDS, DEFAULT_MAX_DRAFT_ORDERS, Settings
from cds_service.data_gathering import FetchLimits, GatherReport, gather
from cds_service.errors import CdsHttpError
from cds_service.handlers import HookContext
from cds_service.outbound_http import shared_session_factory
from cds_service.security.allowlist import FhirAllowlist
from cds_service.services import SERVICES, ServiceDefinition, build_services
from cds_service.timeline.links import decorators_for
from clinical_rules.kb import load_knowledge_base

log = logging.getLogger(__name__)

Handler = Callable[[HookContext], list[dict[str, Any]]]
# Runs on the handler's cards before they are validated (e.g. the timeline link of
# cds_service.timeline); must not raise for any card a handler can produce.
CardDecorator = Callable[[HookContext, list[dict[str, Any]]], list[dict[str, Any]]]


@dataclass
class HookResult:
    """The response body plus what the logs and metrics may know about it (no patient data)."""

    service: ServiceDefinition
    response: dict[str, Any]
    hook_instance: str
    patient_id: str
    gather: GatherReport = field(default_factory=GatherReport)
    handler_failed: bool = False
    cards_dropped: int = 0
    cards_summarised: int = 0  # cards beyond the per-response limit, stood for by one summary card
    gather_ms: float = 0.0
    rules_ms: float = 0.0


def find_service(service_id: str, services: dict[str, ServiceDefinition] | None = None) -> ServiceDefinition:
    service = (services or SERVICES).get(service_id)
    if service is None:
        raise CdsHttpError(404, "unknown CDS service", code="not-found")
    return service


def validate_request(service: ServiceDefinition, document: Any) -> dict[str, Any]:
    """Check a parsed body against the request schema and the service's hook (400 otherwise)."""
    if not isinstance(document, dict):
        raise CdsHttpError(400, "the request body must be a JSON object", code="structure")
    problems = schemas.problems("request", document)
    if problems:
        raise CdsHttpError(400, problems)
    if document["hook"] != service.hook:
        raise CdsHttpError(
            400, f"hook does not match this service, which answers {service.hook}", code="value"
        )
    problems = schemas.problems(f"context-{service.hook}", document["context"], prefix="context")
    if problems:
        raise CdsHttpError(400, problems)
    return document


class Pipeline:
    """Everything loaded once at start-up that a hook call needs."""

    def __init__(
        self,
        *,
        permits: Callable[[str], bool],
        limits: FetchLimits,
        kb: Any = None,
        session_factory: Callable[[], requests.Session] | None = None,
        handler_for: Callable[[str], Handler] | None = None,
        services: dict[str, ServiceDefinition] | None = None,
        card_decorators: list[CardDecorator] | None = None,
        max_draft_orders: int = DEFAULT_MAX_DRAFT_ORDERS,
        max_cards: int = DEFAULT_MAX_CARDS,
    ) -> None:
        self.permits = permits
        self.card_decorators: list[CardDecorator] = list(card_decorators or ())
        # Amplification bounds: drafts judged per order call (413 beyond), cards per response.
        self.max_draft_orders = max_draft_orders
        self.max_cards = max(2, max_cards)
        self.limits = limits
        self.kb = kb
        # Four request threads per worker by default (rrmm-cds serve, gunicorn gthread), each with
        # up to ``concurrency`` requests in flight: the pool keeps that many connections alive.
        self.session_factory = session_factory or shared_session_factory(4 * limits.concurrency)
        self.services = services or SERVICES
        self._handler_for = handler_for or default_handler_for
        schemas.load_all()

    def run(self, service_id: str, document: Any, evaluation_date: date) -> HookResult:
        """Answer one hook call; raises CdsHttpError for 400/404/412."""
        service = find_service(service_id, self.services)
        request = validate_request(service, document)
        context = request["context"]
        drafts = _draft_count(context.get("draftOrders"))
        if drafts > self.max_draft_orders:
            raise CdsHttpError(
                413,
                f"context.draftOrders holds {drafts} draft orders; at most {self.max_draft_orders} are "
                "checked in one call (RRMM_CDS_MAX_DRAFT_ORDERS)",
                code="too-costly",
            )
        report = GatherReport()
        started = time.perf_counter()
        index = gather(
            request,
            service,
            permits=self.permits,
            limits=self.limits,
            session_factory=self.session_factory,
            report=report,
        )
        gathered = time.perf_counter()
        ctx = HookContext(
            service_id=service.id,
            hook=service.hook,
            patient_id=context["patientId"],
            evaluation_date=evaluation_date,
            index=index,
            context=context,
            kb=self.kb,
            unavailable_sources=tuple(report.unavailable),
        )
        result = HookResult(
            service=service,
            response={"cards": []},
            hook_instance=request["hookInstance"],
            patient_id=context["patientId"],
            gather=report,
        )
        cards = self._cards(ctx, result)
        if len(cards) > self.max_cards and self.kb is not None:
            label = self.kb.source_label if service.hook == "patient-view" else self.kb.order_source_label
            result.cards_summarised = len(cards) - (self.max_cards - 1)
            cards = cap_cards(cards, self.max_cards, self.kb, source_label=label)
        result.response = {"cards": cards}
        result.gather_ms = (gathered - started) * 1000
        result.rules_ms = (time.perf_counter() - gathered) * 1000
        return result

    def _cards(self, ctx: HookContext, result: HookResult) -> list[dict[str, Any]]:
        try:
            produced = self._handler_for(ctx.hook)(ctx)
        except Exception as exc:  # noqa: BLE001 - a clinical bug must not become a 5xx (spec 01 §2)
            result.handler_failed = True
            # The exception type only: messages and tracebacks may quote patient data.
            log.error(
                "clinical handler failed; answering without cards",
                extra={"event": "handler_error", "service": ctx.service_id, "error_type": type(exc).__name__},
            )
            return []
        if not isinstance(produced, list):
            result.handler_failed = True
            log.error(
                "clinical handler returned a non-list; answering without cards",
                extra={
                    "event": "handler_error",
                    "service": ctx.service_id,
                    "error_type": type(produced).__name__,
                },
            )
            return []
        for decorate in self.card_decorators:
            try:
                produced = decorate(ctx, produced)
            except Exception as exc:  # noqa: BLE001 - a decoration is optional; the cards stand without it
                log.error("card decorator failed; cards sent without it",
                          extra={"event": "decorator_error", "service": ctx.service_id,
                                 "error_type": type(exc).__name__})
        valid = []
        for card in produced:
            if not schemas.is_valid("response", {"cards": [card]}):
                result.cards_dropped += 1
                log.error("invalid card dropped", extra={"event": "card_invalid", "service": ctx.service_id})
            else:
                valid.append(card)
        return _unique_uuids(valid, result)


def build_pipeline(settings: Settings, clock: Callable[[], datetime] | None = None) -> Pipeline:
    """The pipeline the HTTP service and ``rrmm-cds call`` share: allow-list, limits, knowledge base,
    the timeline link on the cards (``clock``: when its tokens are issued; default the wall clock).

    The knowledge base is loaded and validated here, once; an invalid one stops start-up.
    """
    allowlist = FhirAllowlist.from_setting(settings.fhir_allowlist, production=settings.production)
    kb = load_knowledge_base()
    return Pipeline(
        permits=allowlist.permits,
        limits=FetchLimits.from_settings(settings),
        kb=kb,
        services=build_services(settings.prefetch_page_size),
        card_decorators=decorators_for(kb, settings, clock or (lambda: datetime.now(UTC))),
        max_draft_orders=settings.max_draft_orders,
        max_cards=settings.max_cards,
    )


def _draft_count(draft_orders: Any) -> int:
    """Entries of the draftOrders Bundle (the context schema has checked its shape)."""
    entries = draft_orders.get("entry") if isinstance(draft_orders, dict) else None
    return len(entries) if isinstance(entries, list) else 0


def _unique_uuids(cards: list[dict[str, Any]], result: HookResult) -> list[dict[str, Any]]:
    seen: set[str] = set()
    unique = []
    for card in cards:
        if card["uuid"] in seen:
            result.cards_dropped += 1
            log.error("card with a duplicate uuid dropped", extra={"event": "card_invalid"})
            continue
        seen.add(card["uuid"])
        unique.append(card)
    return unique


def default_handler_for(hook: str) -> Handler:
    """Look the handler up at call time, so the clinical engineers' bodies are always used."""
    if hook == "patient-view":
        return handlers.patient_view_cards
    return handlers.order_cards
