"""Metamorphic tests on the public vignettes: the data variations of 02 §4 must not change facts.

Each public case is re-encoded the ways real feeds differ (units, text-only or contained
medications, other patients' and entered-in-error copies, unknown extensions) and the derived
facts must stay the same as for the original encoding. Nothing here asserts a vignette's answer.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from fhir_mappings import PatientFacts, ResourceIndex, build_facts
from fhir_mappings.medication import MEDICATION_TYPES
from fhir_mappings.terminology import RXNORM_SYSTEM, DrugCatalog

VIGNETTES = Path("/work/shared/vignettes/public")
CASES = sorted(VIGNETTES.glob("*.json")) if VIGNETTES.is_dir() else []
Resources = list[dict[str, Any]]


def key_facts(facts: PatientFacts) -> dict[str, Any]:
    return {
        "diagnosis": (facts.myeloma.present, facts.plasma_cell_leukaemia.present, facts.extramedullary.present),
        "exposures": [(e.drug, e.start, e.end, e.ongoing) for e in facts.exposures],
        "events": [e.date for e in facts.progression_events],
        "possible": facts.possible_progression and facts.possible_progression.date,
        "lines": [(line.start, line.drugs, line.includes_asct) for line in facts.lines],
        "relapse": (facts.prior_lines, facts.at_relapse, facts.new_line_after_progression),
        "refractory": (facts.lenalidomide_refractory, facts.imid_refractory, facts.pi_refractory,
                       facts.anti_cd38_exposed, facts.anti_cd38_refractory, facts.triple_class_refractory,
                       facts.penta_refractory),
        "cytogenetics": (facts.high_risk, facts.t11_14_positive, facts.missing_cytogenetics),
        "renal": (None if facts.renal.crcl_ml_min is None else round(facts.renal.crcl_ml_min), facts.renal.method,
                  facts.renal.dialysis),
        "state": (facts.age, facts.heart_failure.present, facts.neuropathy.present, facts.vte_history.present,
                  facts.frail, facts.transplant_eligible, facts.bsa_m2 and round(facts.bsa_m2, 1)),
    }


def _loinc(resource: dict[str, Any]) -> set[str]:
    return {c.get("code") for c in (resource.get("code") or {}).get("coding") or () if isinstance(c, dict)}


def _rescale(resources: Resources, loinc: set[str], to_unit: str, factor_from: dict[str, float],
             new_code: str | None = None) -> Resources:
    """Re-express a quantity in ``to_unit``; ``factor_from[unit]`` converts a value to ``to_unit``."""
    out = copy.deepcopy(resources)
    for resource in out:
        quantity = resource.get("valueQuantity")
        if resource.get("resourceType") != "Observation" or not (_loinc(resource) & loinc) or not isinstance(quantity, dict):
            continue
        unit = quantity.get("code") or quantity.get("unit")
        if unit not in factor_from:
            continue
        quantity.update(value=quantity["value"] * factor_from[unit], unit=to_unit, code=to_unit)
        if new_code:
            resource["code"] = {"coding": [{"system": "http://loinc.org", "code": new_code}]}
    return out


def m_protein_in_g_per_l(resources: Resources) -> Resources:
    return _rescale(resources, {"33358-3"}, "g/L", {"g/dL": 10.0, "g/L": 1.0, "mg/dL": 0.01})


def m_protein_in_mg_per_dl(resources: Resources) -> Resources:
    return _rescale(resources, {"33358-3"}, "mg/dL", {"g/dL": 1000.0, "g/L": 100.0, "mg/dL": 1.0})


def creatinine_in_umol(resources: Resources) -> Resources:
    return _rescale(resources, {"2160-0", "14682-9"}, "umol/L", {"mg/dL": 88.4, "umol/L": 1.0}, new_code="14682-9")


def weight_in_pounds(resources: Resources) -> Resources:
    return _rescale(resources, {"29463-7"}, "[lb_av]", {"kg": 1 / 0.45359237, "g": 0.001 / 0.45359237,
                                                        "[lb_av]": 1.0})


def _rxnorm_drug(concept: Any) -> str | None:
    catalog = DrugCatalog.default()
    for coding in (concept or {}).get("coding") or ():
        if isinstance(coding, dict) and coding.get("system") == RXNORM_SYSTEM:
            drug = catalog.by_code(str(coding.get("code")))
            if drug is not None:
                return drug.brands[0] if drug.brands else drug.generic
    return None


def medications_as_brand_text(resources: Resources) -> Resources:
    out = copy.deepcopy(resources)
    for resource in out:
        if resource.get("resourceType") in MEDICATION_TYPES:
            name = _rxnorm_drug(resource.get("medicationCodeableConcept"))
            if name:
                resource["medicationCodeableConcept"] = {"text": f"{name.upper()} 10 mg"}
    return out


def medications_contained(resources: Resources) -> Resources:
    out = copy.deepcopy(resources)
    for resource in out:
        concept = resource.get("medicationCodeableConcept")
        if resource.get("resourceType") in MEDICATION_TYPES and isinstance(concept, dict):
            del resource["medicationCodeableConcept"]
            resource.setdefault("contained", []).append({"resourceType": "Medication", "id": "med", "code": concept})
            resource["medicationReference"] = {"reference": "#med"}
    return out


def _with_subject(resource: dict[str, Any], patient: str) -> dict[str, Any]:
    for key in ("subject", "patient"):
        if isinstance(resource.get(key), dict):
            resource[key] = {"reference": f"Patient/{patient}"}
    return resource


def plus_other_patient_copies(resources: Resources) -> Resources:
    copies = []
    for resource in copy.deepcopy(resources):
        resource["id"] = f"other-{resource.get('id')}"
        if resource.get("resourceType") == "Patient":
            copies.append(resource)
        elif "subject" in resource or "patient" in resource:
            copies.append(_with_subject(resource, "someone-else"))
    return resources + copies


def plus_entered_in_error_copies(resources: Resources) -> Resources:
    copies = []
    for resource in copy.deepcopy(resources):
        if resource.get("resourceType") in ("Patient", "Medication"):
            continue
        resource["id"] = f"eie-{resource.get('id')}"
        if resource.get("resourceType") == "Condition":
            resource["verificationStatus"] = {"coding": [{"code": "entered-in-error"}]}
        else:
            resource["status"] = "entered-in-error"
        copies.append(resource)
    return resources + copies


def plus_unknown_elements(resources: Resources) -> Resources:
    out = copy.deepcopy(resources)
    for resource in out:
        resource["extension"] = [{"url": "http://example.org/fhir/StructureDefinition/x", "valueString": "y"}]
        resource["futureElement"] = {"nested": [1, {"a": None}]}
    return out


def medications_as_separate_resources(resources: Resources) -> Resources:
    out = copy.deepcopy(resources)
    extra = []
    for n, resource in enumerate(out):
        concept = resource.get("medicationCodeableConcept")
        if resource.get("resourceType") in MEDICATION_TYPES and isinstance(concept, dict):
            del resource["medicationCodeableConcept"]
            extra.append({"resourceType": "Medication", "id": f"sep-{n}", "code": concept})
            resource["medicationReference"] = {"reference": f"Medication/sep-{n}"}
    return out + extra


def statements_duplicated_as_requests(resources: Resources) -> Resources:
    copies = []
    for resource in copy.deepcopy(resources):
        period = resource.get("effectivePeriod")
        if (resource.get("resourceType") != "MedicationStatement" or not isinstance(period, dict)
                or resource.get("status") in ("entered-in-error", "not-taken")):
            continue
        request = {"resourceType": "MedicationRequest", "id": f"dup-{resource.get('id')}", "intent": "order",
                   "status": "active" if resource.get("status") == "active" else "completed",
                   "subject": resource.get("subject"), "authoredOn": period.get("start"),
                   "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": period}}}]}
        for key in ("medicationCodeableConcept", "medicationReference", "contained"):
            if key in resource:
                request[key] = resource[key]
        if isinstance(resource.get("statusReason"), list) and resource["statusReason"]:
            request["statusReason"] = resource["statusReason"][0]
        copies.append(request)
    return resources + copies


def completed_statements_as_weekly_administrations(resources: Resources) -> Resources:
    """A finished statement becomes one administration per week from its start to its end."""
    out: Resources = []
    for resource in copy.deepcopy(resources):
        period = resource.get("effectivePeriod") or {}
        start, end = str(period.get("start", ""))[:10], str(period.get("end", ""))[:10]
        if (resource.get("resourceType") != "MedicationStatement" or resource.get("status") != "completed"
                or "statusReason" in resource or len(start) != 10 or len(end) != 10):
            out.append(resource)
            continue
        first, last = date.fromisoformat(start), date.fromisoformat(end)
        days = [*range(0, (last - first).days, 7), (last - first).days]
        for n, offset in enumerate(days):
            dose = {k: v for k, v in resource.items() if k not in ("effectivePeriod", "dateAsserted", "dosage")}
            dose.update(resourceType="MedicationAdministration", id=f"{resource.get('id')}-{n}",
                        effectiveDateTime=(first + timedelta(days=offset)).isoformat())
            out.append(dose)
    return out


def dates_without_time(resources: Resources) -> Resources:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, str) and len(value) > 10 and value[4] == "-" and value[10] == "T":
            return value[:10]
        return value
    return strip(copy.deepcopy(resources))


def legacy_disease_status_code(resources: Resources) -> Resources:
    out = copy.deepcopy(resources)
    for resource in out:
        if resource.get("resourceType") == "Observation" and "97509-4" in _loinc(resource):
            resource["code"] = {"coding": [{"system": "http://loinc.org", "code": "88040-1"}]}
    return out


def plus_unrelated_noise(resources: Resources) -> Resources:
    subject = next((r.get("subject") for r in resources if isinstance(r.get("subject"), dict)), None)
    noise = [
        {"resourceType": "MedicationStatement", "id": "noise-ms", "status": "active", "subject": subject,
         "medicationCodeableConcept": {"text": "metformin 500 mg tablet"}, "effectivePeriod": {"start": "2015-01-01"}},
        {"resourceType": "Condition", "id": "noise-cond", "subject": subject, "code": {"text": "Type 2 diabetes"},
         "clinicalStatus": {"coding": [{"code": "active"}]}, "onsetDateTime": "2015-01-01"},
        {"resourceType": "Observation", "id": "noise-obs", "status": "final", "subject": subject,
         "code": {"coding": [{"system": "http://hospital.example.org/lab", "code": "HBA1C"}]},
         "effectiveDateTime": "2020-01-01", "valueQuantity": {"value": 7.1, "unit": "%"}},
    ]
    return resources + noise


TRANSFORMS: dict[str, Callable[[Resources], Resources]] = {
    "separate-medication": medications_as_separate_resources,
    "statement-and-request": statements_duplicated_as_requests,
    "dates-without-time": dates_without_time,
    "weekly-administrations": completed_statements_as_weekly_administrations,
    "legacy-disease-status": legacy_disease_status_code,
    "unrelated-noise": plus_unrelated_noise,
    "m-protein-g/L": m_protein_in_g_per_l,
    "m-protein-mg/dL": m_protein_in_mg_per_dl,
    "creatinine-umol/L": creatinine_in_umol,
    "weight-lb": weight_in_pounds,
    "brand-text-only": medications_as_brand_text,
    "contained-medication": medications_contained,
    "other-patient": plus_other_patient_copies,
    "entered-in-error": plus_entered_in_error_copies,
    "unknown-elements": plus_unknown_elements,
}


def _facts(resources: Resources, patient_id: str, as_of: date) -> PatientFacts:
    index = ResourceIndex(patient_id)
    index.add_any(resources)
    return build_facts(index, patient_id, as_of)


@pytest.mark.skipif(not CASES, reason="public vignettes not available")
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_facts_invariant_under_feed_variations(path: Path):
    case = json.loads(path.read_text())
    data = case["data"]
    as_of = date.fromisoformat(case["asOf"])
    baseline = key_facts(_facts(data["resources"], data["patientId"], as_of))
    for name, transform in TRANSFORMS.items():
        varied = key_facts(_facts(transform(data["resources"]), data["patientId"], as_of))
        assert varied == baseline, name
