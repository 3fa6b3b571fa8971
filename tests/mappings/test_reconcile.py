"""Medication-source reconciliation (fhir_mappings/reconcile.py, docs/medication-reconciliation.md):
stale active orders end, the most recent assertion wins, each decision noted and in the evidence."""

from __future__ import annotations

from datetime import date, timedelta

from mapping_builders import (
    CYCLOPHOSPHAMIDE,
    DEXAMETHASONE,
    EVAL,
    LENALIDOMIDE,
    administration,
    condition,
    day,
    facts_for,
    medication_request,
    medication_statement,
    myeloma,
    observation,
)

from clinical_rules.kb import load_knowledge_base
from clinical_rules.patient_view.treatment import choose_treatment
from fhir_mappings import DerivationParameters

KB = load_knowledge_base()


def _exposure(facts, drug):
    found = [e for e in facts.exposures if e.drug == drug]
    assert len(found) == 1, found
    return found[0]


def _notes(facts) -> list[str]:
    return [n.text for n in facts.notes if n.code == "medication-reconciled"]


def test_a_2018_active_order_with_one_2018_administration_is_not_ongoing():
    # mCODE's Jenny M: cyclophosphamide ordered 2018-04-12 (still "active"), given once 2018-04-22.
    order = medication_request(CYCLOPHOSPHAMIDE, 0, authoredOn="2018-04-12")
    given = administration(CYCLOPHOSPHAMIDE, 0, effectiveDateTime="2018-04-22T10:00:00Z")
    facts = facts_for(condition(text="Breast cancer"), order, given)
    exposure = _exposure(facts, "cyclophosphamide")
    assert not exposure.ongoing
    assert exposure.end == date(2018, 4, 22) + timedelta(days=180)
    assert "cyclophosphamide" not in facts.current_drugs()
    assert any("2018-04-22" in n for n in _notes(facts))
    order_evidence = [e for e in exposure.evidence if e.resource_type == "MedicationRequest"]
    assert "treated as ended" in order_evidence[0].text


def test_an_order_that_is_the_only_record_of_its_course_stays_ongoing():
    facts = facts_for(myeloma(), medication_request(rxnorm_valacyclovir(), -1400))
    assert _exposure(facts, "valacyclovir").ongoing
    assert _notes(facts) == []


def rxnorm_valacyclovir():
    return {"text": "Valtrex 500 mg tablet"}


def test_recent_evidence_keeps_the_order_open():
    order = medication_request(LENALIDOMIDE, -400)
    facts = facts_for(myeloma(), order, administration(LENALIDOMIDE, -100))
    assert _exposure(facts, "lenalidomide").ongoing


def test_the_orders_expected_supply_is_respected():
    supply = {"dispenseRequest": {"expectedSupplyDuration": {"value": 28, "unit": "days", "code": "d"},
                                  "numberOfRepeatsAllowed": 11}}  # 12 fills = 336 days
    order = medication_request(LENALIDOMIDE, -400, **supply)
    fill = {"resourceType": "MedicationDispense", "id": "md-x", "status": "completed",
            "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": LENALIDOMIDE,
            "whenHandedOver": day(-300)}
    assert _exposure(facts_for(myeloma(), order, fill), "lenalidomide").ongoing  # 300 days < 336
    short = medication_request(LENALIDOMIDE, -400, dispenseRequest={
        "expectedSupplyDuration": {"value": 4, "code": "wk"}})
    exposure = _exposure(facts_for(myeloma(), short, fill), "lenalidomide")
    assert not exposure.ongoing and exposure.end == EVAL - timedelta(days=300 - 28)


def test_the_stale_window_is_a_derivation_parameter():
    resources = (myeloma(), medication_request(LENALIDOMIDE, -400), administration(LENALIDOMIDE, -300))
    assert not _exposure(facts_for(*resources), "lenalidomide").ongoing
    longer = DerivationParameters(stale_order_days=365)
    assert _exposure(facts_for(*resources, params=longer), "lenalidomide").ongoing


def _len_sensitive_relapse(*extra):
    """DRd-naive patient: Rd completed, progression a year after lenalidomide ended."""
    return facts_for(
        myeloma(),
        medication_statement(LENALIDOMIDE, -1000, -600, status="completed", dateAsserted=day(-600)),
        medication_statement(DEXAMETHASONE, -1000, -600, status="completed", dateAsserted=day(-600)),
        observation("97509-4", -60, valueCodeableConcept={"coding": [{"system": "http://snomed.info/sct",
                                                                      "code": "271299001"}]}),
        *extra,
    )


def test_a_stale_active_order_does_not_outweigh_a_later_completed_statement():
    baseline = _len_sensitive_relapse()
    assert not baseline.lenalidomide_refractory
    stale = medication_request(LENALIDOMIDE, -1000)  # the Rd order nobody closed
    facts = _len_sensitive_relapse(stale)
    assert not facts.lenalidomide_refractory
    assert _exposure(facts, "lenalidomide").end == EVAL - timedelta(days=600)
    assert choose_treatment(facts, KB).row_id == choose_treatment(baseline, KB).row_id == "R6"
    assert any("later completed statement" in n for n in _notes(facts))


def test_an_earlier_course_documented_late_does_not_end_the_open_order():
    # Maintenance ordered 400 days ago and still taken; the induction course (ended before the
    # order) is recorded afterwards as completed: it must not shorten the maintenance exposure.
    order = medication_request(LENALIDOMIDE, -400)
    late = medication_statement(LENALIDOMIDE, -900, -500, status="completed", dateAsserted=day(-300))
    facts = facts_for(myeloma(), order, late)
    maintenance = [e for e in facts.exposures if e.drug == "lenalidomide" and e.start == EVAL - timedelta(days=400)]
    assert maintenance and maintenance[0].ongoing
    assert _notes(facts) == []


def test_an_order_newer_than_the_completed_statement_is_a_restart():
    restarted = medication_request(LENALIDOMIDE, -200)
    facts = _len_sensitive_relapse(restarted)
    assert facts.lenalidomide_refractory  # on lenalidomide again when it progressed
    assert _notes(facts) == []


def test_the_decision_leads_the_exposures_evidence():
    # Cards list a fact's first sources (KB 2026.2 cards give references, not texts): the record
    # whose end reconciliation decided comes first, carrying why.
    facts = _len_sensitive_relapse(medication_request(LENALIDOMIDE, -1000))
    first = _exposure(facts, "lenalidomide").evidence[0]
    assert first.resource_type == "MedicationRequest" and "later completed statement" in first.text
