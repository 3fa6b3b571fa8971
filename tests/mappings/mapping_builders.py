"""Small FHIR R4 builders named by clinical intent, for the mapping tests.

Days are offsets from ``EVAL`` (the injected evaluation date): ``day(-40)`` is 40 days before.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from fhir_mappings import DEFAULT_PARAMETERS, DerivationParameters, ResourceIndex, build_facts
from fhir_mappings.facts import PatientFacts
from fhir_mappings.terminology import ICD10CM_SYSTEM, LOINC_SYSTEM, RXNORM_SYSTEM, SNOMED_SYSTEM

EVAL = date(2025, 6, 1)
PATIENT_ID = "p1"
_ids = itertools.count(1)
Resource = dict[str, Any]


def day(offset: int) -> str:
    return (EVAL + timedelta(days=offset)).isoformat()


def _next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def _subject(patient_id: str = PATIENT_ID) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def patient(birth: str = "1960-01-15", gender: str = "male") -> Resource:
    return {"resourceType": "Patient", "id": PATIENT_ID, "gender": gender, "birthDate": birth}


def facts_for(*resources: Any, evaluation_date: date = EVAL, with_patient: bool = True,
              params: DerivationParameters = DEFAULT_PARAMETERS) -> PatientFacts:
    index = ResourceIndex(PATIENT_ID)
    if with_patient:
        index.add(patient())
    index.add_any(list(resources))
    return build_facts(index, PATIENT_ID, evaluation_date, params=params)


# -- conditions ----------------------------------------------------------------------------------
def condition(*, icd: str | None = None, snomed: str | None = None, text: str | None = None,
              clinical_status: str = "active", onset: int | None = None, recorded: int | None = None,
              verification: str = "confirmed", patient_id: str = PATIENT_ID) -> Resource:
    coding = []
    if icd:
        coding.append({"system": ICD10CM_SYSTEM, "code": icd})
    if snomed:
        coding.append({"system": SNOMED_SYSTEM, "code": snomed})
    code: dict[str, Any] = {"coding": coding}
    if text:
        code["text"] = text
    resource: Resource = {
        "resourceType": "Condition", "id": _next_id("cond"), "subject": _subject(patient_id), "code": code,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": clinical_status}]},
        "verificationStatus": {"coding": [{"code": verification}]},
    }
    if onset is not None:
        resource["onsetDateTime"] = day(onset)
    if recorded is not None:
        resource["recordedDate"] = day(recorded)
    return resource


def myeloma(onset: int = -1500, **kwargs: Any) -> Resource:
    return condition(icd="C90.00", text="Multiple myeloma", onset=onset, **kwargs)


# -- medications ---------------------------------------------------------------------------------
def rxnorm(code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": RXNORM_SYSTEM, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def text_concept(text: str) -> dict[str, Any]:
    return {"text": text}


def medication_statement(concept: dict[str, Any] | None, start: int, end: int | None = None, *,
                         status: str = "completed", stop_reason: str | None = None,
                         patient_id: str = PATIENT_ID, **extra: Any) -> Resource:
    resource: Resource = {"resourceType": "MedicationStatement", "id": _next_id("ms"), "status": status,
                          "subject": _subject(patient_id)}
    if concept is not None:
        resource["medicationCodeableConcept"] = concept
    period = {"start": day(start)}
    if end is not None:
        period["end"] = day(end)
    resource["effectivePeriod"] = period
    if stop_reason:
        resource["statusReason"] = [{"text": stop_reason}]
    resource.update(extra)
    return resource


def medication_request(concept: dict[str, Any] | None, authored: int, *, status: str = "active",
                       bounds_end: int | None = None, **extra: Any) -> Resource:
    resource: Resource = {"resourceType": "MedicationRequest", "id": _next_id("mr"), "status": status,
                          "intent": "order", "subject": _subject(), "authoredOn": day(authored)}
    if concept is not None:
        resource["medicationCodeableConcept"] = concept
    if bounds_end is not None:
        resource["dosageInstruction"] = [{"timing": {"repeat": {"boundsPeriod": {"start": day(authored),
                                                                                   "end": day(bounds_end)}}}}]
    resource.update(extra)
    return resource


def administration(concept: dict[str, Any] | None, when: int, **extra: Any) -> Resource:
    resource: Resource = {"resourceType": "MedicationAdministration", "id": _next_id("ma"), "status": "completed",
                          "subject": _subject(), "effectiveDateTime": f"{day(when)}T10:00:00-05:00"}
    if concept is not None:
        resource["medicationCodeableConcept"] = concept
    resource.update(extra)
    return resource


def dispense(concept: dict[str, Any], handed_over: int, days_supply: int) -> Resource:
    return {"resourceType": "MedicationDispense", "id": _next_id("md"), "status": "completed",
            "subject": _subject(), "medicationCodeableConcept": concept, "whenHandedOver": day(handed_over),
            "daysSupply": {"value": days_supply, "unit": "days"}}


def medication(concept: dict[str, Any], rid: str | None = None) -> Resource:
    return {"resourceType": "Medication", "id": rid or _next_id("med"), "code": concept}


LENALIDOMIDE = rxnorm("342369", "lenalidomide")
POMALIDOMIDE = rxnorm("1369713", "pomalidomide")
BORTEZOMIB = rxnorm("358258", "bortezomib")
CARFILZOMIB = rxnorm("1302966", "carfilzomib")
DARATUMUMAB = rxnorm("1721947", "daratumumab")
DEXAMETHASONE = rxnorm("3264", "dexamethasone")
MELPHALAN = rxnorm("6718", "melphalan")
CYCLOPHOSPHAMIDE = rxnorm("3002", "cyclophosphamide")


# -- observations --------------------------------------------------------------------------------
def observation(loinc: str, when: int, *, value: float | None = None, unit: str | None = None,
                status: str = "final", patient_id: str = PATIENT_ID, **extra: Any) -> Resource:
    resource: Resource = {"resourceType": "Observation", "id": _next_id("obs"), "status": status,
                          "subject": _subject(patient_id),
                          "code": {"coding": [{"system": LOINC_SYSTEM, "code": loinc}]},
                          "effectiveDateTime": f"{day(when)}T09:00:00-05:00"}
    if value is not None:
        quantity: dict[str, Any] = {"value": value}
        if unit is not None:
            quantity.update({"unit": unit, "system": "http://unitsofmeasure.org", "code": unit})
        resource["valueQuantity"] = quantity
    resource.update(extra)
    return resource


def serum_m_protein(value: float, unit: str, when: int, **extra: Any) -> Resource:
    return observation("33358-3", when, value=value, unit=unit, **extra)


def urine_m_protein(value: float, unit: str, when: int) -> Resource:
    return observation("42482-0", when, value=value, unit=unit)


def free_kappa(value: float, unit: str, when: int) -> Resource:
    return observation("36916-5", when, value=value, unit=unit)


def free_lambda(value: float, unit: str, when: int) -> Resource:
    return observation("33944-0", when, value=value, unit=unit)


def creatinine(value: float, unit: str, when: int) -> Resource:
    return observation("14682-9" if "mol" in unit else "2160-0", when, value=value, unit=unit)


def weight(value: float, unit: str, when: int) -> Resource:
    return observation("29463-7", when, value=value, unit=unit)


def height(value: float, unit: str, when: int) -> Resource:
    return observation("8302-2", when, value=value, unit=unit)


def egfr(value: float, when: int) -> Resource:
    return observation("98979-8", when, value=value, unit="mL/min/{1.73_m2}")


def lvef(value: float, when: int) -> Resource:
    return observation("10230-1", when, value=value, unit="%")


def plasma_cells(value: float, when: int) -> Resource:
    return observation("13047-6", when, value=value, unit="%")


def igg(value: float, unit: str, when: int) -> Resource:
    return observation("2465-3", when, value=value, unit=unit)


def ecog(grade: int, when: int) -> Resource:
    return observation("89247-1", when, valueInteger=grade)


def disease_status(when: int, *, worsened: bool = True, loinc: str = "97509-4", **extra: Any) -> Resource:
    code = "271299001" if worsened else "268910001"
    return observation(loinc, when, valueCodeableConcept={"coding": [{"system": SNOMED_SYSTEM, "code": code}]},
                       **extra)


def fish(loinc: str, positive: bool, when: int = -900) -> Resource:
    answer = "LA6576-8" if positive else "LA6577-6"
    return observation(loinc, when, valueCodeableConcept={"coding": [{"system": LOINC_SYSTEM, "code": answer}]})


def fish_narrative(text: str, when: int = -900) -> Resource:
    return observation("50659-2", when, valueString=text)


def asct(when: int, *, status: str = "completed") -> Resource:
    return {"resourceType": "Procedure", "id": _next_id("proc"), "status": status, "subject": _subject(),
            "code": {"coding": [{"system": SNOMED_SYSTEM, "code": "709115004"}],
                     "text": "Autologous stem cell transplant"},
            "performedDateTime": f"{day(when)}T10:00:00-05:00"}


def m_protein_series(values_by_day: dict[int, float], unit: str = "g/dL") -> list[Resource]:
    return [serum_m_protein(v, unit, d) for d, v in values_by_day.items()]
