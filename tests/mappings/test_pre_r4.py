"""DSTU2/STU3 resources that reach the mapping are recognised (fhir_mappings.fhir_versions, the
recogniser cds_service.fhir_version also uses), not misread as R4, and reported."""

from __future__ import annotations

from mapping_builders import PATIENT_ID, facts_for, myeloma

import cds_service.fhir_version as service_versions
from fhir_mappings import fhir_versions
from fhir_mappings.index import ResourceIndex

DSTU2_CONDITION = {  # DSTU2: "patient", clinicalStatus / verificationStatus as code strings
    "resourceType": "Condition", "id": "dstu2-hf", "patient": {"reference": f"Patient/{PATIENT_ID}"},
    "code": {"text": "Congestive heart failure"}, "clinicalStatus": "resolved", "verificationStatus": "refuted",
}
DSTU2_ORDER = {"resourceType": "MedicationOrder", "id": "mo-1", "status": "active",
               "patient": {"reference": f"Patient/{PATIENT_ID}"}, "medicationCodeableConcept": {"text": "Revlimid"}}


def test_one_recogniser_for_both_rooms():
    assert service_versions.pre_r4_reason is fhir_versions.pre_r4_reason
    assert service_versions.pre_r4_in_value is fhir_versions.pre_r4_in_value


def test_a_dstu2_condition_is_not_read_as_r4():
    # Read as R4, its string statuses are invisible: a resolved, refuted heart failure would count.
    facts = facts_for(myeloma(), DSTU2_CONDITION, DSTU2_ORDER)
    assert not facts.heart_failure.present
    assert not facts.exposed("lenalidomide")
    notes = {n.code: n.text for n in facts.notes}
    assert "pre-r4-resource" in notes
    texts = [n.text for n in facts.notes if n.code == "pre-r4-resource"]
    assert any(t.startswith("1 Condition resource(s)") for t in texts)
    assert any(t.startswith("1 MedicationOrder resource(s)") for t in texts)


def test_the_index_counts_them_by_type():
    index = ResourceIndex(PATIENT_ID)
    index.add_any({"resourceType": "Bundle", "entry": [{"resource": DSTU2_CONDITION}, {"resource": DSTU2_ORDER},
                                                       {"resource": myeloma()}]})
    assert index.pre_r4_types() == {"Condition": 1, "MedicationOrder": 1}
    assert len(index.of_type("Condition")) == 1


def test_the_fast_check_agrees_with_the_reason():
    samples = [DSTU2_CONDITION, DSTU2_ORDER, myeloma(), {"resourceType": "Patient", "id": "x"},
               {"resourceType": "AllergyIntolerance", "clinicalStatus": "active"},
               {"resourceType": "MedicationStatement", "taken": "y"}, {"resourceType": "ProcedureRequest"}]
    for resource in samples:
        assert fhir_versions.is_pre_r4(resource, resource["resourceType"]) == (
            fhir_versions.pre_r4_reason(resource) is not None), resource
