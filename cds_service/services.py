"""The three CDS services this server offers, as the discovery document lists them (spec 01 §1).

Prefetch templates use only CDS Hooks 2.0 tokens (``{{context.patientId}}``); no FHIRPath. Every
resource type the data contract (spec 02) reads has a template, because a type without one is
only available by querying the client's FHIR server. Observations come in three keys (laboratory,
vital signs, and the coded disease-status / FISH / ECOG / LVEF findings, which EHRs file under
other categories); clients may fill them with overlapping results: the index de-duplicates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# The LOINC codes whose Observations are not reliably filed as laboratory or vital-signs.
FINDING_CODES = (
    "97509-4",  # disease status (clinician-recorded progression)
    "88040-1",  # legacy disease status
    "72824-6",  # del(17p) FISH
    "72726-3",  # t(4;14) FISH
    "72725-5",  # t(11;14) FISH
    "50659-2",  # cytogenetics narrative
    "89247-1",  # ECOG performance status
    "10230-1",  # LVEF
)
_LOINC = "http://loinc.org"

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
    "medicationDispenses": "MedicationDispense?patient={{context.patientId}}",
    "labObservations": "Observation?patient={{context.patientId}}&category=laboratory",
    "vitalSigns": "Observation?patient={{context.patientId}}&category=vital-signs",
    "findingObservations": "Observation?patient={{context.patientId}}&code="
    + ",".join(f"{_LOINC}|{code}" for code in FINDING_CODES),
    "procedures": "Procedure?patient={{context.patientId}}",
    "diagnosticReports": "DiagnosticReport?patient={{context.patientId}}",
}

_USAGE = (
    "Send the prefetch keys listed (or fhirServer with a patient-scoped read token, e.g. "
    "patient/*.read). Resources may arrive in any key, paginated, or as OperationOutcome; "
    "missing data is read from fhirServer when it is allow-listed."
)


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str
    prefetch: dict[str, str]

    def discovery_entry(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "usageRequirements": self.usage_requirements,
            "prefetch": dict(self.prefetch),
        }


SERVICES: dict[str, ServiceDefinition] = {
    service.id: service
    for service in (
        ServiceDefinition(
            id="rrmm-relapse-guidance",
            hook="patient-view",
            title="RRMM relapse treatment guidance",
            description=(
                "For a patient with multiple myeloma at relapse: the recommended next regimen and "
                "alternatives, supportive care, salvage transplant, referral, relapse work-up and "
                "missing data, each with the facts and sources behind it. Silent otherwise."
            ),
            usage_requirements=_USAGE,
            prefetch=PREFETCH,
        ),
        ServiceDefinition(
            id="rrmm-order-select",
            hook="order-select",
            title="RRMM order check (selection)",
            description=(
                "Checks the selected draft myeloma orders against the patient's history: "
                "refractoriness, contraindications, dosing, missing prophylaxis and regimen intensity."
            ),
            usage_requirements=_USAGE,
            prefetch=PREFETCH,
        ),
        ServiceDefinition(
            id="rrmm-order-sign",
            hook="order-sign",
            title="RRMM order check (signing)",
            description=(
                "Checks every draft myeloma order before signing: refractoriness, "
                "contraindications, dosing, missing prophylaxis and regimen intensity."
            ),
            usage_requirements=_USAGE,
            prefetch=PREFETCH,
        ),
    )
}


def discovery_document() -> dict[str, Any]:
    return {"services": [service.discovery_entry() for service in SERVICES.values()]}


_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")


def render_template(template: str, context: dict[str, Any]) -> str | None:
    """Fill ``{{context.x}}`` tokens from the hook context; None if a token has no string value.

    The values are FHIR ids (validated by the request schema), so no URL escaping is needed.
    """
    unresolved = False

    def fill(match: re.Match[str]) -> str:
        nonlocal unresolved
        token = match.group(1)
        value = context.get(token.removeprefix("context.")) if token.startswith("context.") else None
        if not isinstance(value, str) or not value:
            unresolved = True
            return ""
        return value

    rendered = _TOKEN.sub(fill, template)
    return None if unresolved else rendered
