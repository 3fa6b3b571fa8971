"""Robustness items of 02 §4: noise that must not change facts, and input that must never raise."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mapping_builders import (
    DARATUMUMAB,
    EVAL,
    LENALIDOMIDE,
    PATIENT_ID,
    condition,
    disease_status,
    facts_for,
    medication_request,
    medication_statement,
    myeloma,
    serum_m_protein,
)

from fhir_mappings import ResourceIndex, build_facts


def test_entered_in_error_records_are_ignored():
    bad_status = disease_status(-20, status="entered-in-error")
    bad_drug = medication_statement(DARATUMUMAB, -300, status="entered-in-error")
    facts = facts_for(myeloma(), bad_status, bad_drug)
    assert facts.progression_events == () and not facts.exposed("daratumumab")
    assert any(n.code == "entered-in-error" for n in facts.notes)


def test_refuted_myeloma_is_no_diagnosis():
    facts = facts_for(condition(icd="C90.00", verification="refuted"))
    assert not facts.myeloma.present


def test_other_patients_resources_are_ignored_and_counted_without_ids():
    other = "someone-else"
    facts = facts_for(myeloma(), condition(icd="C90.02", onset=-30, patient_id=other),
                      medication_statement(DARATUMUMAB, -300, status="active", patient_id=other),
                      disease_status(-20, patient_id=other))
    assert facts.progression_events == () and not facts.exposed("daratumumab")
    note = next(n for n in facts.notes if n.code == "other-patient")
    assert other not in note.text


def test_draft_request_in_history_is_ignored():
    facts = facts_for(myeloma(), medication_request(LENALIDOMIDE, -5, status="draft"))
    assert not facts.exposed("lenalidomide")


def test_unknown_extensions_and_later_fhir_elements():
    obs = serum_m_protein(0.9, "g/dL", -60)
    obs["extension"] = [{"url": "http://example.org/unknown", "valueBoolean": True}]
    obs["modifierExtension"] = [{"url": "http://example.org/x", "valueString": "y"}]
    obs["triggeredBy"] = [{"observation": {"reference": "Observation/1"}, "type": "reflex"}]  # R5
    statement = medication_statement(LENALIDOMIDE, -400, status="recorded", renderedDosageInstruction="10 mg")  # R5
    statement["_status"] = {"extension": [{"url": "http://example.org/s"}]}
    facts = facts_for(myeloma(), serum_m_protein(0.3, "g/dL", -150), obs, serum_m_protein(1.3, "g/dL", -30), statement)
    assert len(facts.progression_events) == 1 and facts.exposed("lenalidomide")


def test_wrong_types_everywhere_do_not_raise():
    junk = [
        {"resourceType": "Observation", "id": 5, "code": "33358-3", "valueQuantity": "0.9 g/dL"},
        {"resourceType": "Observation", "code": {"coding": [{"system": "http://loinc.org", "code": "33358-3"}]},
         "effectiveDateTime": "sometime", "valueQuantity": {"value": "high", "unit": 7}},
        {"resourceType": "MedicationStatement", "medicationCodeableConcept": {"coding": [None, 3, {"code": 342369}]},
         "effectivePeriod": "2024"},
        {"resourceType": "Condition", "code": {"coding": "C90.00"}, "clinicalStatus": "active"},
        {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": 1950, "gender": ["male"]},
        {"resourceType": "Procedure", "status": "completed", "code": {"text": 12}, "performedDateTime": {"x": 1}},
        {"resourceType": "DiagnosticReport", "conclusion": ["t(4;14)"]},
        "not a resource", None, 42,
    ]
    facts = facts_for(*junk, with_patient=False)
    assert facts.patient_id == PATIENT_ID and facts.age is None


def test_thousands_of_observations_map():
    noise = [serum_m_protein(0.3, "g/dL", -d % 900 - 1) for d in range(3000)]
    facts = facts_for(myeloma(), *noise)
    assert facts.progression_events == ()


fhir_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10_000), st.floats(allow_nan=True),
                         st.sampled_from(["", "2024-05", "2024-05-06T10:00:00Z", "final", "active", "C90.02",
                                          "33358-3", "342369", "#m1", "Medication/m1", "Patient/p1", "g/dL",
                                          "Revlimid", "progression", "relapse", "mg/dL", "kg"]), st.text(max_size=8))
fhir_json = st.recursive(
    fhir_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from([
            "resourceType", "id", "status", "code", "coding", "system", "display", "text", "value", "unit",
            "valueQuantity", "valueCodeableConcept", "valueString", "effectiveDateTime", "effectivePeriod", "start",
            "end", "subject", "reference", "medicationCodeableConcept", "medicationReference", "contained",
            "clinicalStatus", "verificationStatus", "onsetDateTime", "recordedDate", "statusReason", "dosageInstruction",
            "timing", "repeat", "boundsPeriod", "authoredOn", "birthDate", "gender", "conclusion", "ingredient",
        ]), children, max_size=6),
    ),
    max_leaves=25,
)
resource_types = st.sampled_from(["Observation", "Condition", "MedicationStatement", "MedicationRequest",
                                  "MedicationAdministration", "MedicationDispense", "Procedure", "Patient",
                                  "DiagnosticReport", "Medication", "Bundle"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(resource_types, st.dictionaries(st.text(max_size=3), fhir_json, max_size=3), fhir_json),
                max_size=6))
def test_random_fhir_like_json_never_raises(items):
    index = ResourceIndex(PATIENT_ID)
    for rtype, extra, body in items:
        resource = {"resourceType": rtype, **extra}
        if isinstance(body, dict):
            resource.update(body)
            resource["resourceType"] = rtype
        index.add_any(resource)
    facts = build_facts(index, PATIENT_ID, EVAL)
    json.dumps([n.text for n in facts.notes])


def test_no_wall_clock_dependency():
    index = ResourceIndex(PATIENT_ID)
    index.add_any([myeloma(), medication_statement(LENALIDOMIDE, -100, status="active")])
    later = build_facts(index, PATIENT_ID, date(2030, 1, 1))
    assert later.exposures[0].end == date(2030, 1, 1)


def test_non_finite_and_extreme_values_do_not_raise():
    resources = [
        serum_m_protein(float("nan"), "g/dL", -60), serum_m_protein(float("inf"), "g/dL", -30),
        {"resourceType": "Observation", "code": {"coding": [{"code": "89247-1"}]}, "effectiveDateTime": "2025-01-01",
         "valueInteger": float("nan")},
        {"resourceType": "MedicationDispense", "medicationCodeableConcept": LENALIDOMIDE, "status": "completed",
         "whenHandedOver": "9999-12-30", "daysSupply": {"value": 30}},
        {"resourceType": "MedicationStatement", "medicationCodeableConcept": LENALIDOMIDE, "status": "active",
         "effectivePeriod": {"start": "0001-01-01"}},
        {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": "9999-01-01"},
    ]
    facts = facts_for(myeloma(), *resources, with_patient=False)
    assert facts.progression_events == () and facts.age is None and facts.exposed("lenalidomide")


_JUNK: list[object] = [None, 5, -1, float("nan"), "x", "", [], {}, [None], {"a": 1}, "2024", "2024-13-01", True,
                       ["2024-01-01"], {"coding": 3}]


def _paths(value: object, prefix: tuple = ()):
    yield prefix
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


def test_public_vignettes_with_corrupted_elements_never_raise():
    """Real-shaped records with random elements replaced by wrong-typed values (seeded)."""
    import copy
    import random
    from pathlib import Path

    cases = sorted(Path("/work/shared/vignettes/public").glob("*.json"))
    if not cases:
        return
    rng = random.Random(20251121)
    loaded = [json.loads(p.read_text()) for p in cases]
    for _ in range(60):
        case = rng.choice(loaded)
        resources = copy.deepcopy(case["data"]["resources"])
        for _ in range(25):
            resource = rng.choice(resources)
            paths = [p for p in _paths(resource) if p and p[0] != "resourceType"]
            if not paths:
                continue
            path = rng.choice(paths)
            target = resource
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = copy.deepcopy(rng.choice(_JUNK))
        index = ResourceIndex(case["data"]["patientId"])
        index.add_any(resources)
        build_facts(index, case["data"]["patientId"], date.fromisoformat(case["asOf"]))
