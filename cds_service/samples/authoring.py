"""Builders for writing sample patients as an EHR would hold them (used by ``charts.py``).

A :class:`Chart` collects one patient's FHIR R4 resources with stable ids and turns them into a
``transaction`` Bundle of ``PUT`` entries, so loading the same persona twice overwrites instead of
duplicating. Dates are written as *days before the anchor* (``ANCHOR`` = the persona's "today");
``cds_service.samples.shift_dates`` moves them to the real today at load/serve time.

Only codes from the project terminology (``fhir_mappings/data/drugs.json`` and ``codes.json``) are
used with standard systems; anything else (comorbidities, routine labs) carries the hospital's
local code system or text only, as real feeds do.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources as package_resources
from typing import Any

ANCHOR = date(2026, 1, 15)

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
LOCAL_PROBLEMS = "http://hospital.example.org/fhir/CodeSystem/problem-list"
LOCAL_LABS = "http://hospital.example.org/fhir/CodeSystem/lab-test"
MRN_SYSTEM = "http://hospital.example.org/fhir/sid/mrn"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

Resource = dict[str, Any]


def day(days_before_anchor: int) -> str:
    """The anchor-relative date ``days_before_anchor`` days before the persona's today."""
    return (ANCHOR - timedelta(days=days_before_anchor)).isoformat()


def instant(days_before_anchor: int, clock: str = "10:30:00") -> str:
    return f"{day(days_before_anchor)}T{clock}-05:00"


@cache
def _drug_table() -> dict[str, dict[str, Any]]:
    text = package_resources.files("fhir_mappings").joinpath("data/drugs.json").read_text("utf-8")
    return {entry["generic"]: entry for entry in json.loads(text)["drugs"]}


def drug(generic: str, text: str | None = None, *, brand: str | None = None) -> Resource:
    """A medication CodeableConcept coded with RxNorm where drugs.json lists a code.

    ``brand`` codes the brand's RxNorm instead of the ingredient's (when listed); without any
    listed code the concept is text-only, which is how these drugs reach us from real feeds.
    """
    entry = _drug_table()[generic]
    code, display = entry["rxnorm"], generic
    if brand is not None:
        listed = next(b for b in entry["brands"] if b["name"] == brand)
        code, display = listed["rxnorm"], brand
    concept: Resource = {"text": text or display}
    if code:
        concept["coding"] = [{"system": RXNORM, "code": code, "display": display}]
    return concept


def text_only(text: str) -> Resource:
    return {"text": text}


def coded(system: str, code: str, display: str, text: str | None = None) -> Resource:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text or display}


def quantity(value: float, unit: str) -> Resource:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


@dataclass
class Chart:
    """One sample patient's record. Ids are ``<key>-<kind>-<n>``: stable across regenerations."""

    key: str
    patient_id: str
    resources: list[Resource] = field(default_factory=list)
    _counters: dict[str, int] = field(default_factory=dict)

    # -- plumbing ------------------------------------------------------------------------------
    def _id(self, kind: str) -> str:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return f"{self.key}-{kind}-{self._counters[kind]}"

    def _add(self, resource: Resource) -> Resource:
        self.resources.append(resource)
        return resource

    @property
    def subject(self) -> Resource:
        return {"reference": f"Patient/{self.patient_id}"}

    def bundle(self) -> Resource:
        entries = [
            {
                "fullUrl": f"urn:uuid:{_stable_uuid(r['resourceType'], r['id'])}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in self.resources
        ]
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    # -- resources -----------------------------------------------------------------------------
    def patient(self, *, family: str, given: str, gender: str, birth_days_before: int, mrn: str) -> Resource:
        return self._add(
            {
                "resourceType": "Patient",
                "id": self.patient_id,
                "identifier": [{"use": "usual", "system": MRN_SYSTEM, "value": mrn}],
                "active": True,
                "name": [{"use": "official", "family": family, "given": [given]}],
                "gender": gender,
                "birthDate": day(birth_days_before),
            }
        )

    def condition(
        self,
        code: Resource,
        onset: int | None,
        *,
        clinical_status: str = "active",
        verification: str = "confirmed",
        recorded: int | None = None,
    ) -> Resource:
        resource: Resource = {
            "resourceType": "Condition",
            "id": self._id("cond"),
            "clinicalStatus": {"coding": [{"system": _CONDITION_CLINICAL, "code": clinical_status}]},
            "verificationStatus": {"coding": [{"system": _CONDITION_VERIFICATION, "code": verification}]},
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "problem-list-item",
                        }
                    ]
                }
            ],
            "code": code,
            "subject": self.subject,
        }
        if onset is not None:
            resource["onsetDateTime"] = day(onset)
        recorded_at = recorded if recorded is not None else onset
        if recorded_at is not None:
            resource["recordedDate"] = instant(recorded_at, "15:20:00")
        return self._add(resource)

    def statement(
        self,
        medication: Resource,
        start: int,
        end: int | None,
        *,
        dose_text: str,
        status: str | None = None,
        stop_reason: str | None = None,
        contained: bool = False,
    ) -> Resource:
        """A MedicationStatement; ``end=None`` means still taken (status active).

        ``contained`` puts the drug in a contained Medication referenced as ``#med`` (a common
        export shape) instead of an inline CodeableConcept.
        """
        period: Resource = {"start": day(start)}
        if end is not None:
            period["end"] = day(end)
        resource: Resource = {
            "resourceType": "MedicationStatement",
            "id": self._id("ms"),
            "status": status or ("active" if end is None else "completed"),
            "subject": self.subject,
            "effectivePeriod": period,
            "dateAsserted": instant(end if end is not None else 1),
            "dosage": [{"text": dose_text}],
        }
        if contained:
            resource["contained"] = [{"resourceType": "Medication", "id": "med", "code": medication}]
            resource["medicationReference"] = {"reference": "#med"}
        else:
            resource["medicationCodeableConcept"] = medication
        if stop_reason:
            resource["statusReason"] = [
                coded(SNOMED, "271299001", "Patient's condition worsened", stop_reason)
                if "progress" in stop_reason.lower()
                else text_only(stop_reason)
            ]
        return self._add(resource)

    def request(
        self,
        medication: Resource,
        start: int,
        end: int | None,
        *,
        dose_text: str,
        status: str | None = None,
        dose: Resource | None = None,
    ) -> Resource:
        """A historical MedicationRequest (an outpatient prescription with its validity period)."""
        bounds: Resource = {"start": day(start)}
        if end is not None:
            bounds["end"] = day(end)
        dosage: Resource = {"text": dose_text, "timing": {"repeat": {"boundsPeriod": bounds}}}
        if dose is not None:
            dosage["doseAndRate"] = [{"doseQuantity": dose}]
        return self._add(
            {
                "resourceType": "MedicationRequest",
                "id": self._id("mr"),
                "status": status or ("active" if end is None else "completed"),
                "intent": "order",
                "medicationCodeableConcept": medication,
                "subject": self.subject,
                "authoredOn": instant(start, "09:05:00"),
                "dosageInstruction": [dosage],
            }
        )

    def administrations(self, medication: Resource, days: list[int], *, dose: Resource, route: str) -> None:
        """One MedicationAdministration per infusion/injection day (how an MAR feed arrives)."""
        for d in days:
            self._add(
                {
                    "resourceType": "MedicationAdministration",
                    "id": self._id("ma"),
                    "status": "completed",
                    "medicationCodeableConcept": medication,
                    "subject": self.subject,
                    "effectiveDateTime": instant(d, "12:00:00"),
                    "dosage": {"text": f"{dose['value']} {dose['unit']} {route}", "route": text_only(route),
                               "dose": dose},
                }
            )

    def medication(self, code: Resource, form_text: str) -> Resource:
        """A stand-alone Medication (pharmacy systems reference these instead of coding inline)."""
        return self._add({"resourceType": "Medication", "id": self._id("med"), "code": code,
                          "form": {"text": form_text}})

    def dispenses(self, medication: Resource, days: list[int], *, days_supply: int, quantity_text: str) -> None:
        """Pharmacy fills pointing at a Medication resource by reference (``medicationReference``)."""
        for d in days:
            self._add(
                {
                    "resourceType": "MedicationDispense",
                    "id": self._id("md"),
                    "status": "completed",
                    "medicationReference": {"reference": f"Medication/{medication['id']}"},
                    "subject": self.subject,
                    "whenHandedOver": instant(d, "16:00:00"),
                    "daysSupply": {"value": days_supply, "unit": "day", "system": UCUM, "code": "d"},
                    "dosageInstruction": [{"text": quantity_text}],
                }
            )

    def observation(
        self,
        code: Resource,
        when: int,
        *,
        value: Resource | None = None,
        value_concept: Resource | None = None,
        value_string: str | None = None,
        value_integer: int | None = None,
        category: str = "laboratory",
        status: str = "final",
    ) -> Resource:
        resource: Resource = {
            "resourceType": "Observation",
            "id": self._id("obs"),
            "status": status,
            "category": [{"coding": [{"system": _OBS_CATEGORY, "code": category}]}],
            "code": code,
            "subject": self.subject,
            "effectiveDateTime": instant(when, "08:15:00"),
            "issued": instant(when, "16:40:00"),
        }
        if value is not None:
            resource["valueQuantity"] = value
        if value_concept is not None:
            resource["valueCodeableConcept"] = value_concept
        if value_string is not None:
            resource["valueString"] = value_string
        if value_integer is not None:
            resource["valueInteger"] = value_integer
        return self._add(resource)

    def series(self, code: Resource, unit: str, points: list[tuple[int, float]], category: str = "laboratory") -> None:
        for when, value in points:
            self.observation(code, when, value=quantity(value, unit), category=category)

    def procedure(self, code: Resource, when: int) -> Resource:
        return self._add(
            {
                "resourceType": "Procedure",
                "id": self._id("proc"),
                "status": "completed",
                "code": code,
                "subject": self.subject,
                "performedDateTime": instant(when, "14:15:00"),
            }
        )

    def report(self, code: Resource, when: int, conclusion: str) -> Resource:
        return self._add(
            {
                "resourceType": "DiagnosticReport",
                "id": self._id("dr"),
                "status": "final",
                "code": code,
                "subject": self.subject,
                "effectiveDateTime": instant(when, "08:00:00"),
                "issued": instant(when - 6 if when > 6 else when, "11:00:00"),
                "conclusion": conclusion,
            }
        )


def _stable_uuid(resource_type: str, resource_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://fhir.rrmm-cds.org/samples/{resource_type}/{resource_id}"))
