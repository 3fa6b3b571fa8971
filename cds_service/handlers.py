"""The seam between the HTTP/pipeline layer and the clinical rooms.

``cds_service.pipeline`` builds one :class:`HookContext` per hook call and calls exactly one of
:func:`patient_view_cards` (``rrmm-relapse-guidance``) or :func:`order_cards`
(``rrmm-order-select``, ``rrmm-order-sign``). Contract for both:

- read patient data only from ``ctx.index`` (a de-duplicated ``fhir_mappings.index.ResourceIndex``
  of the context patient) and order data from ``ctx.context`` (the hook's ``context`` object
  as sent: ``draftOrders``, ``selections``; shapes are *not* guaranteed, read leniently);
- use ``ctx.evaluation_date`` as "today"; never read the wall clock;
- derive the facts with the knowledge base's drug catalogue and derivation parameters, so the
  values a clinician reads in the knowledge base are the values in force;
- return a list of card dicts (JSON-ready, no nulls); raising is allowed but wasteful: the
  pipeline logs the exception type (no patient data) and answers ``{"cards": []}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cds_cards.order_cards import render_findings
from cds_cards.patient_view import PatientView, patient_view
from cds_cards.patient_view.data_gaps import render_reported
from cds_service.fetch_policy import UnavailableSource
from clinical_rules.decisions import ReportedGap
from clinical_rules.kb import KnowledgeBase, load_knowledge_base
from clinical_rules.order_checks import check_orders, kept_drugs
from fhir_mappings import build_facts
from fhir_mappings.draft_orders import DraftOrder, drafted_service_codes, read_draft_orders
from fhir_mappings.facts import PatientFacts
from fhir_mappings.index import ResourceIndex

PRE_R4_VERSIONS = "DSTU2/STU3"


@dataclass(frozen=True)
class HookContext:
    """Everything a clinical handler may use for one hook call."""

    service_id: str  # e.g. "rrmm-order-sign"
    hook: str  # "patient-view" | "order-select" | "order-sign"
    patient_id: str
    evaluation_date: date  # the wall-clock date read once per request by the pipeline
    index: ResourceIndex
    context: dict[str, Any] = field(default_factory=dict)  # the request's hook context, as sent
    kb: KnowledgeBase | None = None  # loaded once at start-up by pipeline.build_pipeline
    # Sources of the record the answer had to do without (a refused search, DSTU2/STU3 data, a key
    # not sent and no fhirServer): each becomes an item of the data-gap card.
    unavailable_sources: tuple[UnavailableSource, ...] = ()

    @property
    def reported_gaps(self) -> tuple[ReportedGap, ...]:
        # DSTU2/STU3 resources that reached the index anyway (an extra prefetch key, a page of a
        # server that did not declare its version) were dropped there: report them by type.
        pre_r4 = (ReportedGap.of("unsupported-fhir-version", resource_type=rtype, version=PRE_R4_VERSIONS)
                  for rtype in self.index.pre_r4_types())
        return (*(source.as_reported_gap() for source in self.unavailable_sources), *pre_r4)

    @property
    def knowledge_base(self) -> KnowledgeBase:
        return self.kb if self.kb is not None else load_knowledge_base()


def facts_for(ctx: HookContext) -> PatientFacts:
    kb = ctx.knowledge_base
    return build_facts(ctx.index, ctx.patient_id, ctx.evaluation_date, catalog=kb.catalog,
                       params=kb.derivation_parameters)


def patient_view_result(ctx: HookContext) -> PatientView:
    """The patient-view decision (its structured trace) and cards."""
    return patient_view(facts_for(ctx), ctx.knowledge_base, reported=ctx.reported_gaps)


def patient_view_cards(ctx: HookContext) -> list[dict[str, Any]]:
    """Cards for patient-view (relapse guidance): facts -> relapse decision -> cards."""
    return patient_view_result(ctx).cards


def order_cards(ctx: HookContext) -> list[dict[str, Any]]:
    """Cards for order-select / order-sign: drafted orders + facts -> order checks O1–O12 and the
    03 §4 triggers -> one card per finding. order-select judges only ``context.selections``
    (the rest of the draft is context); order-sign judges the whole draft."""
    kb = ctx.knowledge_base
    drafts = read_draft_orders(ctx.context.get("draftOrders"), catalog=kb.catalog, index=ctx.index,
                               patient_id=ctx.patient_id)
    judged = selected_drafts(drafts, ctx.context.get("selections")) if ctx.hook == "order-select" else drafts
    if not judged:
        return []
    facts = facts_for(ctx)
    services = drafted_service_codes(ctx.context.get("draftOrders"), ctx.patient_id)
    findings = check_orders(drafts, judged, facts, kb, drafted_services=services)
    cards = render_findings(findings, ctx.patient_id, kb)
    # What the checks needed and did not have (a recent creatinine for a renally dosed draft), and
    # the part of the record they ran without (e.g. the medication history): say so.
    return cards + render_reported(ctx.reported_gaps, kb, source_label=kb.order_source_label, facts=facts,
                                   drafted=kept_drugs(judged, findings))


def selected_drafts(drafts: Sequence[DraftOrder], selections: Any) -> tuple[DraftOrder, ...]:
    """The drafts ``context.selections`` names ("MedicationRequest/<id>", absolute URLs allowed).
    Selections absent or unreadable: every draft (judging more is the safe side)."""
    if not isinstance(selections, list) or not any(isinstance(s, str) and s for s in selections):
        return tuple(drafts)
    wanted: set[str] = set()
    for selection in selections:
        if isinstance(selection, str) and selection:
            parts = [p for p in selection.split("/") if p]
            if len(parts) >= 2 and parts[-2] != "MedicationRequest":
                continue
            wanted.add(parts[-1])
    return tuple(d for d in drafts if d.resource_id in wanted)
