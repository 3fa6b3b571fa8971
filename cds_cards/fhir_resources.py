"""FHIR R4 resources the cards propose: draft MedicationRequests and ServiceRequests.

Built as plain dicts in the shape ``fhir.resources.R4B`` validates (the tests validate every kind
of resource built here; :func:`validate` does it on demand). Nothing is ever ordered: status
``draft``, intent ``proposal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clinical_rules.decisions import Coding, Dose
    from clinical_rules.kb import KnowledgeBase

RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM_SYSTEM = "http://unitsofmeasure.org"


def route_concept(route: str, kb: KnowledgeBase) -> dict[str, Any]:
    """The coded route of a suggested order (doses.yaml routes), with the route name as text."""
    coding = kb.routes[route].coding
    return {"coding": [{"system": coding.system, "code": coding.code, "display": coding.display}], "text": route}


def medication_request(
    dose: Dose,
    patient_id: str,
    kb: KnowledgeBase,
    *,
    note: str | None = None,
    reason: str | None = None,
    resource_id: str | None = None,
) -> dict[str, Any]:
    """A draft MedicationRequest (intent proposal) for ``dose`` (03 §5, 04 §2).

    The medication carries the RxNorm ingredient coding when known and always the generic name
    as text; the dosage carries the text, the structured UCUM dose and the timing.
    """
    coding = [{"system": RXNORM_SYSTEM, "code": dose.rxnorm, "display": dose.drug}] if dose.rxnorm else []
    ordered = kb.order_codings.dose_rate_ordered
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"},
        "medicationCodeableConcept": {"text": dose.drug, **({"coding": coding} if coding else {})},
        "dosageInstruction": [
            {
                "text": dose.text,
                "timing": {
                    "repeat": {"frequency": dose.frequency, "period": dose.period, "periodUnit": dose.period_unit}
                },
                "route": route_concept(dose.route, kb),
                "doseAndRate": [
                    {
                        "type": {"coding": [{"system": ordered.system, "code": ordered.code, "display": ordered.display}]},
                        "doseQuantity": {
                            "value": dose.value,
                            "unit": dose.unit,
                            "system": UCUM_SYSTEM,
                            "code": dose.unit,
                        },
                    }
                ],
            }
        ],
    }
    if resource_id:
        resource["id"] = resource_id
    if reason:
        resource["reasonCode"] = [{"text": reason}]
    if note:
        resource["note"] = [{"text": note}]
    return resource


def service_request(
    coding: Coding,
    patient_id: str,
    *,
    text: str | None = None,
    reason: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """A draft ServiceRequest (intent proposal) for a test, imaging or referral."""
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {
            "coding": [{"system": coding.system, "code": coding.code, "display": coding.display}],
            "text": text or coding.display,
        },
    }
    if reason:
        resource["reasonCode"] = [{"text": reason}]
    if note:
        resource["note"] = [{"text": note}]
    return resource


def validate(resource: dict[str, Any]) -> None:
    """Raise if ``resource`` is not valid FHIR R4 (fhir.resources.R4B); used by tests and tools."""
    from fhir.resources.R4B import get_fhir_model_class  # heavy import: only when validating

    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
