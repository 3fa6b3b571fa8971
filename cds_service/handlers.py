"""The seam between the HTTP/pipeline layer and the clinical rooms.

``cds_service.pipeline`` builds one :class:`HookContext` per hook call and calls exactly one of
the two functions below. Their bodies belong to the clinical engineers:

- :func:`patient_view_cards` (engineer C): ``rrmm-relapse-guidance`` (patient-view);
- :func:`order_cards` (engineer D): ``rrmm-order-select`` and ``rrmm-order-sign``.

Contract for both:
- read patient data only from ``ctx.index`` (a de-duplicated ``fhir_mappings.index.ResourceIndex``
  of the context patient) and order data from ``ctx.context`` (the hook's ``context`` object
  as sent: ``draftOrders``, ``selections``; shapes are *not* guaranteed, read leniently);
- use ``ctx.evaluation_date`` as "today"; never read the wall clock;
- return a list of card dicts built with ``cds_cards.builder.build_card`` (JSON-ready, no nulls);
- raising is allowed but wasteful: the pipeline logs the exception type (no patient data) and
  answers ``{"cards": []}``. Cards are validated against the response schema before they are
  sent; an invalid card is dropped and logged, never sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cds_cards.patient_view import render
from cds_cards.source_gaps import unavailable_sources_card
from cds_service.fetch_policy import UnavailableSource
from clinical_rules.kb import load_knowledge_base
from clinical_rules.relapse import decide
from fhir_mappings import build_facts
from fhir_mappings.index import ResourceIndex


@dataclass(frozen=True)
class HookContext:
    """Everything a clinical handler may use for one hook call."""

    service_id: str  # e.g. "rrmm-order-sign"
    hook: str  # "patient-view" | "order-select" | "order-sign"
    patient_id: str
    evaluation_date: date  # the wall-clock date read once per request by the pipeline
    index: ResourceIndex
    context: dict[str, Any] = field(default_factory=dict)  # the request's hook context, as sent
    kb: Any = None  # clinical_rules.kb.KnowledgeBase, loaded once at start-up by pipeline.build_pipeline
    # Sources of the record the answer had to do without (cds_service.fetch_policy.UnavailableSource:
    # key, resource_type, reason); each becomes a line of the unavailable-sources data-gap card.
    unavailable_sources: tuple[UnavailableSource, ...] = ()


def patient_view_cards(ctx: HookContext) -> list[dict[str, Any]]:
    """Cards for patient-view (relapse guidance): facts -> relapse decision -> cards."""
    kb = ctx.kb if ctx.kb is not None else load_knowledge_base()
    facts = build_facts(ctx.index, ctx.patient_id, ctx.evaluation_date)
    cards = render(decide(facts, kb), facts, kb)
    # Silent for everyone without myeloma (the conditions are a required source); for a myeloma
    # patient an incomplete record is said, even when the rest of the answer is silence.
    if ctx.unavailable_sources and facts.myeloma.present:
        cards.append(unavailable_sources_card(ctx.unavailable_sources, kb, kb.source_label))
    return cards


def order_cards(ctx: HookContext) -> list[dict[str, Any]]:
    """Cards for order-select / order-sign: drafted orders + facts -> order checks O1–O12 and the
    03 §4 triggers -> one card per finding. order-select judges only ``context.selections``
    (the rest of the draft is context); order-sign judges the whole draft."""
    from cds_cards.order_cards import render_findings
    from clinical_rules.kb import load_knowledge_base
    from clinical_rules.order_checks import check_orders, selected_drafts
    from fhir_mappings import build_facts
    from fhir_mappings.draft_orders import read_draft_orders

    drafts = read_draft_orders(ctx.context.get("draftOrders"), index=ctx.index, patient_id=ctx.patient_id)
    judged = selected_drafts(drafts, ctx.context.get("selections")) if ctx.hook == "order-select" else drafts
    if not judged:
        return []
    kb = ctx.kb if ctx.kb is not None else load_knowledge_base()
    facts = build_facts(ctx.index, ctx.patient_id, ctx.evaluation_date)
    cards = render_findings(check_orders(drafts, judged, facts, kb), ctx.patient_id, kb.order_source_label)
    if ctx.unavailable_sources:
        cards.append(unavailable_sources_card(ctx.unavailable_sources, kb, kb.order_source_label))
    return cards
