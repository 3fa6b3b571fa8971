"""Draft MedicationRequest / ServiceRequest builders (04 §2, §3, §5), validated with fhir.resources.R4B."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from rules.builders import FactsBuilder

from cds_cards.fhir_resources import medication_request, service_request, validate
from clinical_rules.decisions import Coding
from clinical_rules.doses import starting_dose
from clinical_rules.kb import load_knowledge_base

KB = load_knowledge_base()


@pytest.mark.parametrize("drug", sorted(load_knowledge_base().doses))
def test_every_kb_dose_builds_a_valid_draft_medication_request(drug):
    dose = starting_dose(drug, None, FactsBuilder().build(), KB)
    resource = medication_request(dose, "pt-9", KB, note="trace", reason="why", resource_id="draft-1")
    validate(resource)
    assert resource["id"] == "draft-1"
    assert resource["medicationCodeableConcept"]["text"] == drug
    quantity = resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert quantity["system"] == "http://unitsofmeasure.org" and quantity["code"] in {"mg", "mg/m2", "mg/kg"}


def test_drug_without_rxnorm_code_is_text_only():
    dose = starting_dose("isatuximab", "IsaPd", FactsBuilder().build(), KB)
    concept = medication_request(dose, "pt-9", KB)["medicationCodeableConcept"]
    assert concept == {"text": "isatuximab"}


def test_service_request_is_a_coded_draft_proposal():
    resource = service_request(Coding("http://snomed.info/sct", "40701008", "Echocardiography"), "pt-9",
                               reason="carfilzomib baseline")
    validate(resource)
    assert (resource["status"], resource["intent"]) == ("draft", "proposal")
    assert resource["code"]["text"] == "Echocardiography"
    assert resource["subject"] == {"reference": "Patient/pt-9"}


def test_validate_rejects_an_invalid_resource():
    dose = starting_dose("lenalidomide", "DRd", FactsBuilder().build(), KB)
    resource = medication_request(dose, "pt-9", KB)
    resource["status"] = 42
    resource["dosageInstruction"][0]["timing"]["repeat"]["frequency"] = "often"
    with pytest.raises(ValidationError):
        validate(resource)
