"""Order-entry safety checks O1–O12 and the 03 §4 supportive-care triggers (03 §6).

Pure decisions: drafted orders (read by ``fhir_mappings.draft_orders``) + the patient's facts + the
knowledge base -> findings. The checks are small functions in the tables below, run by
:func:`check_orders`; each runs isolated: one that raises is logged (type only) and gives no card,
the others still run. A draft whose hard-rule check failed is judged by nothing else — without
knowing whether it must go, adjusting it could be a wrong card. A draft a finding deletes is never
adjusted (so a drug the card says to remove is never re-suggested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from clinical_rules.isolation import isolated
from clinical_rules.kb import KnowledgeBase
from clinical_rules.order_checks.checks import (
    deleting_findings,
    o6_renal_dose,
    o7_elderly_dose,
    o8_carfilzomib_heart,
    o9_route,
    o10_doublet,
    o11_without_companion,
)
from clinical_rules.order_checks.context import OrderContext
from clinical_rules.order_checks.findings import DraftChange, Fix, OrderFinding
from clinical_rules.order_checks.supportive_orders import supportive_findings
from fhir_mappings.draft_orders import DraftOrder
from fhir_mappings.facts import PatientFacts

__all__ = ["DraftChange", "Fix", "OrderFinding", "check_orders", "kept_drugs"]

DraftCheck = Callable[[OrderContext, DraftOrder], OrderFinding | None]
# Per judged draft, after the hard rules (O1, O2, O12) kept it, in card order.
DRAFT_CHECKS: dict[str, DraftCheck] = {
    "O8": o8_carfilzomib_heart,
    "O11": o11_without_companion,
    "O6": o6_renal_dose,
    "O7": o7_elderly_dose,
    "O9": o9_route,
}


def check_orders(drafts: Sequence[DraftOrder], judged: Sequence[DraftOrder], facts: PatientFacts,
                 kb: KnowledgeBase, *, drafted_services: frozenset[tuple[str, str]] = frozenset()
                 ) -> tuple[OrderFinding, ...]:
    """Every finding for the ``judged`` drafts, with ``drafts`` (the whole draft) and the draft
    ServiceRequests' codes (``drafted_services``) as context."""
    ctx = OrderContext(tuple(drafts), tuple(judged), facts, kb, drafted_services=drafted_services)
    findings: list[OrderFinding] = []
    for draft in ctx.judged:
        deleting = isolated("O1-O2-O12", lambda d=draft: deleting_findings(ctx, d))
        if deleting is None:
            ctx.unjudgeable.add(draft.resource_id)
        else:
            findings += deleting
    for draft in ctx.judged:
        if draft.resource_id in ctx.deleted or draft.resource_id in ctx.unjudgeable:
            continue
        for check_id, check in DRAFT_CHECKS.items():
            finding = isolated(check_id, lambda c=check, d=draft: c(ctx, d))
            if finding is not None:
                findings.append(finding)
    findings += isolated("supportive", lambda: supportive_findings(ctx)) or []
    if not ctx.unjudgeable:
        doublet = isolated("O10", lambda: o10_doublet(ctx))
        if doublet is not None:
            findings.append(doublet)
    return tuple(findings)


def kept_drugs(judged: Sequence[DraftOrder], findings: Sequence[OrderFinding]) -> list[str]:
    """The drugs of the judged drafts that no finding removes: what the data-gap card asks about
    (a draft the card says to delete needs no creatinine for its dose)."""
    removed = {fix.draft.resource_id for finding in findings for fix in finding.fixes
               if fix.kind == "delete" and fix.draft is not None}
    return [g for d in judged if d.resource_id not in removed for g in d.generics]
