"""A scenario's drafted orders as the ``context.draftOrders`` an EHR sends (read by the real reader)."""

from __future__ import annotations

from typing import Any

from cds_service.scenarios.models import Draft
from clinical_rules.kb import KnowledgeBase

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"


def draft_id(number: int) -> str:
    return f"d{number}"


def draft_resource(number: int, draft: Draft, kb: KnowledgeBase, patient_id: str) -> dict[str, Any]:
    if draft.service is not None:
        coding = kb.services[draft.service]
        return {"resourceType": "ServiceRequest", "id": draft_id(number), "status": "draft", "intent": "order",
                "subject": {"reference": f"Patient/{patient_id}"},
                "code": {"coding": [{"system": coding.system, "code": coding.code, "display": coding.display}],
                         "text": coding.display}}
    if draft.drug is not None:
        rxnorm = kb.rxnorm_of(draft.drug)
        concept: dict[str, Any] = {"text": draft.drug}
        if rxnorm:
            concept["coding"] = [{"system": RXNORM, "code": rxnorm, "display": draft.drug}]
    else:
        concept = {"text": draft.text}
    dosage: dict[str, Any] = {}
    if draft.dosage_text:
        dosage["text"] = draft.dosage_text
    if draft.dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": {"value": draft.dose, "unit": draft.unit, "system": UCUM,
                                                   "code": draft.unit}}]
        dosage["timing"] = {"repeat": {"frequency": draft.frequency, "period": draft.period,
                                       "periodUnit": draft.period_unit}}
    if draft.route:
        dosage["route"] = {"text": draft.route}
    resource: dict[str, Any] = {"resourceType": "MedicationRequest", "id": draft_id(number), "status": "draft",
                                "intent": "order", "subject": {"reference": f"Patient/{patient_id}"},
                                "medicationCodeableConcept": concept}
    if dosage:
        resource["dosageInstruction"] = [dosage]
    return resource


def draft_orders(drafts: tuple[Draft, ...], kb: KnowledgeBase, patient_id: str) -> dict[str, Any]:
    entries = [{"resource": draft_resource(n, d, kb, patient_id)} for n, d in enumerate(drafts, start=1)]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
