"""Reading one medication resource: drug identity (02 §2.2) and its interval."""

from __future__ import annotations

from datetime import date, timedelta

from mapping_builders import (
    EVAL,
    LENALIDOMIDE,
    PATIENT_ID,
    administration,
    day,
    dispense,
    medication,
    medication_request,
    medication_statement,
    rxnorm,
    text_concept,
)

from fhir_mappings import ResourceIndex
from fhir_mappings.medication import drugs_in_resource, read_medication_record


def generics(resource, index=None) -> list[str]:
    return [d.generic for d in drugs_in_resource(resource, index)]


def test_ingredient_code():
    assert generics(medication_statement(LENALIDOMIDE, -100)) == ["lenalidomide"]


def test_brand_code():
    assert generics(administration(rxnorm("2375137", "DARZALEX FASPRO"), -10)) == ["daratumumab"]


def test_request_text_only():
    assert generics(medication_request(text_concept("Revlimid 10 mg capsule"), -30)) == ["lenalidomide"]


def test_local_code_display():
    concept = {"coding": [{"system": "http://hospital.example.org/formulary", "code": "F1", "display": "Kyprolis 60 mg"}]}
    assert generics(medication_request(concept, -30)) == ["carfilzomib"]


def test_unknown_drug_names_nothing():
    assert generics(medication_statement(text_concept("metformin 500 mg"), -30)) == []
    assert read_medication_record(medication_statement(text_concept("metformin 500 mg"), -30)) is None


def test_contained_medication_reference():
    resource = administration(None, -10, contained=[medication(rxnorm("358258"), "m1")],
                              medicationReference={"reference": "#m1"})
    assert generics(resource) == ["bortezomib"]


def test_separate_medication_resource_via_index():
    index = ResourceIndex(PATIENT_ID)
    index.add(medication(text_concept("Velcade 3.5 mg vial"), "velcade"))
    resource = administration(None, -10, medicationReference={"reference": "Medication/velcade"})
    assert generics(resource, index) == ["bortezomib"]
    assert generics(resource) == []  # without the index the reference cannot be followed


def test_multi_ingredient_medication_maps_every_ingredient():
    med = {"resourceType": "Medication", "id": "combo", "code": {"text": "combination pack"},
           "ingredient": [{"itemCodeableConcept": rxnorm("342369")}, {"itemCodeableConcept": text_concept("dexamethasone")}]}
    resource = medication_statement(None, -30, contained=[med], medicationReference={"reference": "#combo"})
    assert generics(resource) == ["lenalidomide", "dexamethasone"]


def test_r5_codeable_reference():
    resource = medication_statement(None, -30, medication={"concept": text_concept("pomalidomide 4 mg")})
    assert generics(resource) == ["pomalidomide"]


def test_statement_period_gives_interval():
    record = read_medication_record(medication_statement(LENALIDOMIDE, -100, -20))
    assert record is not None and (record.start, record.end) == (EVAL - timedelta(100), EVAL - timedelta(20))


def test_active_without_end_is_ongoing():
    record = read_medication_record(medication_statement(LENALIDOMIDE, -100, status="active"))
    assert record is not None and record.end is None


def test_completed_without_end_is_a_point_or_until_date_asserted():
    record = read_medication_record(medication_statement(LENALIDOMIDE, -100))
    assert record is not None and record.end == record.start
    asserted = medication_statement(LENALIDOMIDE, -100, dateAsserted=day(-50))
    record = read_medication_record(asserted)
    assert record is not None and record.end == EVAL - timedelta(50)


def test_request_bounds_period_end():
    record = read_medication_record(medication_request(LENALIDOMIDE, -100, status="completed", bounds_end=-10))
    assert record is not None and record.end == EVAL - timedelta(10)


def test_dispense_days_supply():
    record = read_medication_record(dispense(LENALIDOMIDE, -40, 28))
    assert record is not None and (record.start, record.end) == (EVAL - timedelta(40), EVAL - timedelta(12))


def test_stop_reason_text_and_code():
    record = read_medication_record(medication_statement(LENALIDOMIDE, -100, -20, status="stopped",
                                                         stop_reason="Disease progression"))
    assert record is not None and record.stopped_for_progression
    coded = medication_request(LENALIDOMIDE, -100, status="stopped",
                               statusReason={"coding": [{"system": "http://snomed.info/sct", "code": "271299001"}]})
    record = read_medication_record(coded)
    assert record is not None and record.stopped_for_progression
    toxicity = medication_statement(LENALIDOMIDE, -100, -20, status="stopped", stop_reason="Neuropathy")
    record = read_medication_record(toxicity)
    assert record is not None and not record.stopped_for_progression


def test_undated_record_is_ignored():
    resource = {"resourceType": "MedicationStatement", "id": "x", "status": "active",
                "medicationCodeableConcept": LENALIDOMIDE}
    assert read_medication_record(resource) is None
    assert generics(resource) == ["lenalidomide"]


def test_evidence_names_resource_and_product():
    record = read_medication_record(medication_request(text_concept("Revlimid 10 mg capsule"), -30))
    assert record is not None
    evidence = record.evidence(record.drugs[0])
    assert evidence.resource_type == "MedicationRequest" and "Revlimid 10 mg capsule" in evidence.text
    assert evidence.date == date.fromisoformat(day(-30))


def test_statement_with_only_date_asserted_still_counts():
    resource = {"resourceType": "MedicationStatement", "id": "s", "status": "active",
                "medicationCodeableConcept": text_concept("Eliquis 5 mg"), "dateAsserted": day(-30)}
    record = read_medication_record(resource)
    assert record is not None and record.start == EVAL - timedelta(30) and record.end is None
