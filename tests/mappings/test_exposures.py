"""Merging records into exposures (02 §2.2): duplicates, administrations, the 60-day rule."""

from __future__ import annotations

from datetime import timedelta

from mapping_builders import (
    BORTEZOMIB,
    EVAL,
    LENALIDOMIDE,
    administration,
    dispense,
    facts_for,
    medication_request,
    medication_statement,
    myeloma,
    rxnorm,
    text_concept,
)


def exposures_of(facts, drug: str):
    return [e for e in facts.exposures if e.drug == drug]


def test_statement_and_request_of_same_therapy_are_one_exposure():
    facts = facts_for(myeloma(),
                      medication_statement(LENALIDOMIDE, -300, -100),
                      medication_request(text_concept("Revlimid 10 mg capsule"), -300, status="completed", bounds_end=-100))
    (exposure,) = exposures_of(facts, "lenalidomide")
    assert exposure.start == EVAL - timedelta(300) and exposure.end == EVAL - timedelta(100)
    assert {e.resource_type for e in exposure.evidence} == {"MedicationStatement", "MedicationRequest"}


def test_administrations_within_60_days_form_one_exposure():
    doses = [administration(BORTEZOMIB, d) for d in (-200, -193, -186, -130)]
    facts = facts_for(myeloma(), *doses)
    (exposure,) = exposures_of(facts, "bortezomib")
    assert exposure.start == EVAL - timedelta(200) and exposure.end == EVAL - timedelta(130)
    assert len(exposure.evidence) == 4 and not exposure.ongoing


def test_gap_over_60_days_splits_exposures():
    facts = facts_for(myeloma(), administration(BORTEZOMIB, -300), administration(BORTEZOMIB, -240))
    assert len(exposures_of(facts, "bortezomib")) == 1  # 60 days apart: merged
    facts = facts_for(myeloma(), administration(BORTEZOMIB, -300), administration(BORTEZOMIB, -200))
    assert len(exposures_of(facts, "bortezomib")) == 2


def test_brand_and_ingredient_codes_merge_into_one_drug():
    facts = facts_for(myeloma(), administration(rxnorm("1721947"), -50), administration(rxnorm("2375137"), -22))
    assert len(exposures_of(facts, "daratumumab")) == 1


def test_ongoing_exposure_ends_at_evaluation_date():
    facts = facts_for(myeloma(), medication_statement(LENALIDOMIDE, -100, status="active"))
    (exposure,) = exposures_of(facts, "lenalidomide")
    assert exposure.ongoing and exposure.end == EVAL
    assert "lenalidomide" in facts.current_drugs() and "IMiD" in facts.current_classes()


def test_dispense_covers_days_supply_and_merges_refills():
    facts = facts_for(myeloma(), dispense(LENALIDOMIDE, -120, 28), dispense(LENALIDOMIDE, -90, 28))
    (exposure,) = exposures_of(facts, "lenalidomide")
    assert exposure.end == EVAL - timedelta(62)


def test_supportive_drugs_are_exposures_too():
    facts = facts_for(myeloma(), medication_statement(text_concept("Eliquis 5 mg"), -400, status="active"),
                      medication_request(text_concept("Valtrex 500 mg tablet"), -100),
                      medication_request(text_concept("Bactrim DS tablet"), -100),
                      medication_request(text_concept("Zofran 8 mg ODT"), -10))
    assert facts.current_drugs() >= {"apixaban", "valacyclovir", "sulfamethoxazole-trimethoprim", "ondansetron"}
    assert {"anticoagulant", "antiviral", "PJP prophylaxis", "5-HT3 antiemetic"} <= facts.current_classes()
    assert facts.drug_histories == ()  # supportive drugs never count as anti-myeloma history


def test_record_starting_after_evaluation_date_is_ignored():
    facts = facts_for(myeloma(), medication_statement(LENALIDOMIDE, 10, status="active"))
    assert not facts.exposed("lenalidomide")
