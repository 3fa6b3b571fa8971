"""Refractoriness per drug and class, TCR and penta (02 §2.6)."""

from __future__ import annotations

from mapping_builders import (
    BORTEZOMIB,
    CARFILZOMIB,
    DARATUMUMAB,
    LENALIDOMIDE,
    POMALIDOMIDE,
    disease_status,
    facts_for,
    medication_statement,
    myeloma,
    text_concept,
)


def test_progression_during_exposure_is_refractory():
    facts = facts_for(myeloma(), medication_statement(LENALIDOMIDE, -400, status="active"), disease_status(-30))
    history = facts.history("lenalidomide")
    assert history is not None and history.refractory and facts.lenalidomide_refractory and facts.imid_refractory
    assert history.refractory_event is not None and history.refractory_event.date == facts.progression_events[0].date


def test_progression_within_60_days_after_end_is_refractory():
    facts = facts_for(myeloma(), medication_statement(LENALIDOMIDE, -400, -100), disease_status(-45))
    assert facts.is_refractory("lenalidomide")


def test_progression_more_than_60_days_after_end_is_sensitive():
    facts = facts_for(myeloma(), medication_statement(LENALIDOMIDE, -400, -100), disease_status(-30))  # 70 days after the end
    assert facts.exposed("lenalidomide") and not facts.is_refractory("lenalidomide")


def test_progression_before_exposure_is_not_refractory():
    facts = facts_for(myeloma(), disease_status(-500), medication_statement(CARFILZOMIB, -450, -100))
    assert not facts.is_refractory("carfilzomib") and not facts.pi_refractory


def test_maintenance_dose_counts():
    facts = facts_for(myeloma(), medication_statement(text_concept("lenalidomide 10 mg maintenance"), -600, status="active"),
                      disease_status(-20))
    assert facts.lenalidomide_refractory


def test_anti_cd38_exposed_and_refractory():
    exposed = facts_for(myeloma(), medication_statement(DARATUMUMAB, -900, -700), disease_status(-30))
    assert exposed.anti_cd38_exposed and not exposed.anti_cd38_refractory
    isatuximab = facts_for(myeloma(), medication_statement(text_concept("Sarclisa"), -300, -10), disease_status(-20))
    assert isatuximab.anti_cd38_refractory


def test_triple_class_and_penta_refractory():
    drugs = [LENALIDOMIDE, POMALIDOMIDE, BORTEZOMIB, CARFILZOMIB, DARATUMUMAB]
    resources = [myeloma(), *(medication_statement(d, -300, -20) for d in drugs), disease_status(-25)]
    facts = facts_for(*resources)
    assert facts.triple_class_refractory and facts.penta_refractory
    without_pom = facts_for(*(r for r in resources if r.get("medicationCodeableConcept") is not POMALIDOMIDE))
    assert without_pom.triple_class_refractory and not without_pom.penta_refractory


def test_not_triple_class_without_anti_cd38():
    resources = [myeloma(), medication_statement(LENALIDOMIDE, -300, -20), medication_statement(BORTEZOMIB, -300, -20),
                 disease_status(-25)]
    facts = facts_for(*resources)
    assert facts.imid_refractory and facts.pi_refractory and not facts.triple_class_refractory


def test_supportive_drugs_have_no_history():
    facts = facts_for(myeloma(), medication_statement(text_concept("aspirin 81 mg"), -300, status="active"))
    assert facts.drug_histories == () and facts.exposed("aspirin")
