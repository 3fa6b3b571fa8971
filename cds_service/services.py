"""The three CDS services this server offers, as the discovery document lists them (spec 01 §1).

Prefetch templates use only CDS Hooks 2.0 tokens (``{{context.patientId}}``); no FHIRPath. Every
resource type the data contract (spec 02) reads has a template, because a type without one is
only available by querying the client's FHIR server. Observations come in three keys (laboratory,
vital signs, and the coded disease-status / FISH / ECOG / LVEF findings, which EHRs file under
other categories); clients may fill them with overlapping results: the index de-duplicates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cds_service.fetch_policy import OPTIONAL, REQUIRED, FailureMode, KeyPolicy
from fhir_mappings.value_sets import codes_of

# The LOINC codes whose Observations are not reliably filed as laboratory or vital-signs.
FINDING_CODES = (
    "97509-4",  # disease status (clinician-recorded progression)
    "88040-1",  # legacy disease status
    "72824-6",  # del(17p) FISH
    "72726-3",  # t(4;14) FISH
    "72725-5",  # t(11;14) FISH
    "50659-2",  # cytogenetics narrative
    # ECOG performance status and LVEF, every code of their value sets (10230-1, by echo ...)
    *sorted(codes_of("ecog")),
    *sorted(codes_of("lvef")),
)
_LOINC = "http://loinc.org"

# Page size asked for in every search template (``_count``; RRMM_CDS_PREFETCH_PAGE_SIZE). Large
# pages mean short page chains; servers cap it (Epic, Oracle Health), so ``next`` links are still
# followed when fhirServer is given. 1000 is the most FHIR servers honour (HAPI, Medplum).
DEFAULT_PAGE_SIZE = 1000

# The searches, by prefetch key. Medication searches ask the server to include the Medication
# resources they reference (``_include=<type>:medication``), so a client that fills prefetch
# itself delivers them too and nothing has to be read one by one.
_SEARCHES: dict[str, str] = {
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}"
    "&_include=MedicationStatement:medication",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}&_include=MedicationRequest:medication",
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}"
    "&_include=MedicationAdministration:medication",
    "medicationDispenses": "MedicationDispense?patient={{context.patientId}}&_include=MedicationDispense:medication",
    "labObservations": "Observation?patient={{context.patientId}}&category=laboratory",
    "vitalSigns": "Observation?patient={{context.patientId}}&category=vital-signs",
    "findingObservations": "Observation?patient={{context.patientId}}&code="
    + ",".join(f"{_LOINC}|{code}" for code in FINDING_CODES),
    "procedures": "Procedure?patient={{context.patientId}}",
    "diagnosticReports": "DiagnosticReport?patient={{context.patientId}}",
}

# What a failed source means for the answer (cds_service.fetch_policy): the Patient, the
# conditions and the medication history (MedicationRequest or MedicationStatement) are required.
FAILURE_POLICY: dict[str, KeyPolicy] = {
    "patient": REQUIRED,
    "conditions": REQUIRED,
    "medicationStatements": KeyPolicy(FailureMode.OMIT_IF_ALTERNATIVE, ("medicationRequests",)),
    "medicationRequests": KeyPolicy(FailureMode.OMIT_IF_ALTERNATIVE, ("medicationStatements",)),
    "medicationAdministrations": OPTIONAL,
    "medicationDispenses": OPTIONAL,
    "labObservations": OPTIONAL,
    "vitalSigns": OPTIONAL,
    "findingObservations": OPTIONAL,
    "procedures": OPTIONAL,
    "diagnosticReports": OPTIONAL,
}


def prefetch_templates(page_size: int = DEFAULT_PAGE_SIZE) -> dict[str, str]:
    """The prefetch templates, every search asking for pages of ``page_size``."""
    if page_size < 1:
        raise ValueError("page size must be positive")
    templates = {"patient": "Patient/{{context.patientId}}"}
    templates.update({key: f"{search}&_count={page_size}" for key, search in _SEARCHES.items()})
    return templates


PREFETCH: dict[str, str] = prefetch_templates()

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
    failure_policy: dict[str, KeyPolicy] = field(default_factory=lambda: dict(FAILURE_POLICY))

    def policy(self, key: str) -> KeyPolicy:
        return self.failure_policy.get(key, REQUIRED)

    def discovery_entry(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "usageRequirements": self.usage_requirements,
            "prefetch": dict(self.prefetch),
        }


def build_services(page_size: int = DEFAULT_PAGE_SIZE) -> dict[str, ServiceDefinition]:
    """The three services with prefetch templates asking for pages of ``page_size``."""
    prefetch = prefetch_templates(page_size)
    return {
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
                prefetch=prefetch,
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
                prefetch=prefetch,
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
                prefetch=prefetch,
            ),
        )
    }


SERVICES: dict[str, ServiceDefinition] = build_services()


def discovery_document(services: dict[str, ServiceDefinition] | None = None) -> dict[str, Any]:
    return {"services": [service.discovery_entry() for service in (services or SERVICES).values()]}


_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")


def render_template(template: str, context: dict[str, Any]) -> str | None:
    """Fill ``{{context.x}}`` tokens from the hook context; None if a token has no string value.

    Values are percent-encoded: whatever a client sends, it stays one value in one place.
    """
    unresolved = False

    def fill(match: re.Match[str]) -> str:
        nonlocal unresolved
        token = match.group(1)
        value = context.get(token.removeprefix("context.")) if token.startswith("context.") else None
        if not isinstance(value, str) or not value:
            unresolved = True
            return ""
        return quote(value, safe="")

    rendered = _TOKEN.sub(fill, template)
    return None if unresolved else rendered
