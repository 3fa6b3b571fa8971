"""FHIR R4 resources the cards propose: draft MedicationRequests and ServiceRequests.

Built as plain dicts in the shape ``fhir.resources.R4B`` validates (the tests validate every kind
of resource built here; :func:`validate` does it on demand). Nothing is ever ordered: status
``draft``, intent ``proposal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clinical_rules.decisions import Coding, Dose

RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM_SYSTEM = "http://unitsofmeasure.org"
SNOMED_SYSTEM = "http://snomed.info/sct"
DOSE_RATE_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
ROUTES: dict[str, tuple[str, str]] = {
    "oral": ("26643006", "Oral route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "intravenous": ("47625008", "Intravenous route"),
}
UCUM_UNIT_TEXT = {"mg": "mg", "mg/m2": "mg/m2", "mg/kg": "mg/kg"}


def medication_request(
    dose: Dose,
    patient_id: str,
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
    route_code, route_display = ROUTES[dose.route]
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
                "route": {
                    "coding": [{"system": SNOMED_SYSTEM, "code": route_code, "display": route_display}],
                    "text": dose.route,
                },
                "doseAndRate": [
                    {
                        "type": {"coding": [{"system": DOSE_RATE_TYPE_SYSTEM, "code": "ordered", "display": "Ordered"}]},
                        "doseQuantity": {
                            "value": dose.value,
                            "unit": UCUM_UNIT_TEXT[dose.unit],
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
