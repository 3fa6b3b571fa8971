"""Order-check findings -> CDS Hooks cards (04 §4).

One card per finding. Fixes act on the draft: ``delete`` with ``resourceId`` =
``MedicationRequest/<draft id>``, ``update`` with the whole corrected draft (same id, everything
else kept), ``create`` for the missing supportive measure (built by ``cds_cards.fhir_resources``,
the same builders patient-view uses).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from cds_cards.builder import Action, Suggestion
from cds_cards.fhir_resources import UCUM_SYSTEM, medication_request, route_concept, service_request
from cds_cards.markdown import escape, fact_line
from cds_cards.patient_view.common import card
from cds_cards.provenance import provenance_line
from clinical_rules.decisions import Dose, SupportiveMeasure
from clinical_rules.isolation import isolated
from clinical_rules.kb import KnowledgeBase
from clinical_rules.order_checks import DraftChange, Fix, OrderFinding
from fhir_mappings.draft_orders import DraftOrder

_DOSE_IN_TEXT = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(\s*)(mg)(?![A-Za-z/])", re.I)


def render_findings(findings: Sequence[OrderFinding], patient_id: str, kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The cards for these findings, in order. A finding whose card cannot be built is logged
    (type only) and dropped; the other findings' cards are still given."""
    cards = []
    for finding in findings:
        built = isolated(finding.check_id, lambda f=finding: render_finding(f, patient_id, kb))
        if built is not None:
            cards.append(built)
    return cards


def render_finding(finding: OrderFinding, patient_id: str, kb: KnowledgeBase) -> dict[str, Any]:
    behaviour = None
    if finding.fixes:
        behaviour = "at-most-one" if finding.alternatives or len(finding.fixes) == 1 else "any"
    # Under at-most-one only the first alternative is recommended (CDS Hooks: at most one may be).
    suggestions = [
        _suggestion(fix, patient_id, kb, recommended=behaviour == "any" or index == 0)
        for index, fix in enumerate(finding.fixes)
    ]
    return card(
        kb,
        summary=finding.summary.text,
        indicator=finding.indicator,
        topic=finding.topic,
        source_label=kb.order_source_label,
        detail=finding_detail(finding, kb),
        provenance=finding.provenance,
        suggestions=suggestions,
        selection_behavior=behaviour,
        links=finding.links,
        override_reasons=finding.override_reasons,
        facts_used=finding.facts_used,
    )


# -- suggestions -------------------------------------------------------------------------------
def _suggestion(fix: Fix, patient_id: str, kb: KnowledgeBase, *, recommended: bool) -> Suggestion:
    texts = kb.cards.order_card
    if fix.kind == "delete" and fix.draft is not None:
        action = Action(type="delete", description=texts.delete.render(draft=fix.draft.label),
                        resource_id=fix.draft.reference)
    elif fix.kind == "update" and fix.draft is not None and fix.change is not None:
        action = Action(type="update", description=fix.change.description,
                        resource=corrected_draft(fix.draft, fix.change, kb))
    elif fix.kind == "create" and fix.measure is not None:
        action = Action(type="create", description=texts.create.render(measure=fix.measure.label),
                        resource=_measure_resource(fix.measure, patient_id, kb))
    else:
        raise ValueError(f"incomplete {fix.kind} fix")
    return Suggestion(label=fix.label, actions=(action,), is_recommended=recommended)


def _measure_resource(measure: SupportiveMeasure, patient_id: str, kb: KnowledgeBase) -> dict[str, Any]:
    if measure.kind == "medication" and measure.dose is not None:
        return medication_request(measure.dose, patient_id, kb)
    if measure.kind == "service" and measure.service is not None:
        return service_request(measure.service, patient_id, reason=measure.reason.text)
    raise ValueError(f"supportive measure {measure.id} has nothing to order")


def corrected_draft(draft: DraftOrder, change: DraftChange, kb: KnowledgeBase) -> dict[str, Any]:
    """The whole draft with the change applied to its first dosage instruction: structured dose,
    timing and route *and* the text, so the two never disagree. Everything else is kept."""
    resource = copy.deepcopy(draft.resource)
    # Real drafts often omit ``intent`` (required in R4): an update must be a valid resource.
    if not isinstance(resource.get("intent"), str) or not resource["intent"]:
        resource["intent"] = "order"
    dosages = resource.get("dosageInstruction")
    dosages = [d for d in dosages if isinstance(d, dict)] if isinstance(dosages, list) else []
    dosage = dosages[0] if dosages else {}
    if change.dose is not None:
        _apply_dose(dosage, draft, change.dose, amount_only=change.amount_only)
    route = change.route
    if route is None and change.dose is not None and not change.amount_only and change.dose.route != draft.route:
        route = change.dose.route
    if route is not None:
        dosage["route"] = route_concept(route, kb)
    resource["dosageInstruction"] = [dosage, *dosages[1:]]
    return resource


def _apply_dose(dosage: dict[str, Any], draft: DraftOrder, dose: Dose, *, amount_only: bool) -> None:
    quantity = {"value": dose.value, "unit": dose.unit, "system": UCUM_SYSTEM, "code": dose.unit}
    rates = dosage.get("doseAndRate")
    rates = [r for r in rates if isinstance(r, dict)] if isinstance(rates, list) else []
    first = dict(rates[0]) if rates else {}
    first.pop("doseRange", None)
    first["doseQuantity"] = quantity
    dosage["doseAndRate"] = [first, *rates[1:]]
    old_text = dosage.get("text") if isinstance(dosage.get("text"), str) else ""
    if amount_only and dose.unit == "mg" and old_text and _DOSE_IN_TEXT.search(old_text):
        # Only the amount changes: keep the prescriber's schedule wording.
        dosage["text"] = _DOSE_IN_TEXT.sub(lambda m: f"{dose.value:g}{m.group(2)}{m.group(3)}", old_text, count=1)
        if draft.timing is None:
            dosage["timing"] = _timing(dosage.get("timing"), dose)
        elif draft.timing.source == "text":
            # The schedule was only written in text: carry it as structured timing too.
            timing = dosage.get("timing") if isinstance(dosage.get("timing"), dict) else {}
            dosage["timing"] = {**timing, "repeat": {"frequency": draft.timing.frequency,
                                                     "period": draft.timing.period,
                                                     "periodUnit": draft.timing.period_unit}}
        return
    dosage["text"] = dose.text
    dosage["timing"] = _timing(dosage.get("timing"), dose)


def _timing(existing: Any, dose: Dose) -> dict[str, Any]:
    timing = copy.deepcopy(existing) if isinstance(existing, dict) else {}
    repeat = timing.get("repeat") if isinstance(timing.get("repeat"), dict) else {}
    for key in ("frequencyMax", "periodMax", "dayOfWeek", "timeOfDay", "when", "offset"):
        repeat.pop(key, None)  # they described the old schedule
    repeat.update({"frequency": dose.frequency, "period": dose.period, "periodUnit": dose.period_unit})
    timing["repeat"] = repeat
    timing.pop("code", None)
    return timing


# -- detail ------------------------------------------------------------------------------------
def finding_detail(finding: OrderFinding, kb: KnowledgeBase) -> str:
    texts = kb.cards.order_card
    lines = [texts.heading.render(check=finding.check_id, title=finding.title.text), ""]
    if finding.drafts:
        lines += [texts.drafted.render(drafts="; ".join(_draft_line(d, kb) for d in finding.drafts)), ""]
    lines += [f"- {escape(reason.text)}" for reason in finding.reasons]
    if finding.facts_used:
        lines += ["", texts.facts_used.render(), *(fact_line(fact, kb) for fact in finding.facts_used)]
    lines += ["", provenance_line(finding.provenance, kb)]
    return "\n".join(lines)


def _draft_line(draft: DraftOrder, kb: KnowledgeBase) -> str:
    parts = [escape(draft.label)]  # the draft's id is in the fix (resourceId), not in the text
    if draft.dose is not None:
        from_text = f" {kb.cards.order_card.from_text.render()}" if draft.dose.source == "text" else ""
        parts.append(f"{draft.dose.value:g} {draft.dose.unit}{from_text}")
    if draft.route is not None:
        parts.append(draft.route)
    return ", ".join(parts)
