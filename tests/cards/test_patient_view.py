"""Patient-view cards (04 §1–§3, §5): shape, topics, suggestions, FHIR validity, provenance."""

from __future__ import annotations

import json

import pytest
from helpers import assert_valid_cds_response
from rules.builders import FactsBuilder

from cds_cards.fhir_resources import validate
from cds_cards.patient_view import render
from cds_service.observability.audit import card_provenance
from clinical_rules.kb import load_knowledge_base
from clinical_rules.relapse import decide

KB = load_knowledge_base()
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

SCENARIOS = {
    "r6-first-relapse": FactsBuilder(),
    "r5-emd-no-creatinine": FactsBuilder().refractory_to("lenalidomide").with_finding("extramedullary").no_recent_creatinine(),
    "r1-penta": FactsBuilder().prior_lines(3).refractory_to(
        "lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab").no_cytogenetics(),
    "r2-tcr-xvd": FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "daratumumab", "carfilzomib"),
    "r3-hf-pn-vte": FactsBuilder().refractory_to("lenalidomide", "daratumumab").with_finding("heart_failure")
    .with_finding("neuropathy").with_finding("vte_history").age(77),
    "r7-krd": FactsBuilder().exposed_to("daratumumab").asct(24).body(200, 130),
    "emptied": FactsBuilder().prior_lines(2).refractory_to(
        "lenalidomide", "bortezomib", "pomalidomide", "carfilzomib", "elotuzumab"),
    "possible-progression": FactsBuilder().possible_progression(),
}


def cards_for(name: str) -> list[dict]:
    facts = SCENARIOS[name].build()
    return render(decide(facts, KB), facts, KB)


def by_topic(cards: list[dict]) -> dict[str, dict]:
    return {c["source"]["topic"]["code"]: c for c in cards}


def created_resources(cards: list[dict]):
    for card in cards:
        for suggestion in card.get("suggestions", []):
            for action in suggestion.get("actions", []):
                if action["type"] == "create":
                    yield action["resource"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_response_is_spec_valid_and_sourced(name):
    cards = cards_for(name)
    assert_valid_cds_response({"cards": cards})
    for card in cards:
        assert card["source"]["label"] == "RRMM relapse guidance · KB 2026.1"
        assert card["detail"]
        rule_ids, kb_version = card_provenance(card)
        assert rule_ids and kb_version == "2026.1", card["detail"][-300:]
        if card["indicator"] != "info":
            assert card["overrideReasons"] and all(r["display"] for r in card["overrideReasons"])
    assert "91.3" not in json.dumps(cards)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_created_resource_is_valid_fhir_r4(name):
    for resource in created_resources(cards_for(name)):
        validate(resource)
        assert resource["status"] == "draft" and resource["intent"] == "proposal"
        assert resource["subject"] == {"reference": "Patient/pt-1"}


def test_treatment_card_one_suggestion_per_regimen_recommended_first():
    treatment = by_topic(cards_for("r6-first-relapse"))["treatment-recommendation"]
    assert treatment["selectionBehavior"] == "at-most-one"
    suggestions = treatment["suggestions"]
    assert [s.get("isRecommended") for s in suggestions] == [True, False, False, False, False]
    assert suggestions[0]["label"] == "DRd — daratumumab, lenalidomide, dexamethasone"
    requests = [a["resource"] for a in suggestions[0]["actions"]]
    assert [r["medicationCodeableConcept"]["text"] for r in requests] == ["daratumumab", "lenalidomide", "dexamethasone"]
    lenalidomide = requests[1]
    assert lenalidomide["medicationCodeableConcept"]["coding"][0] == {
        "system": RXNORM, "code": "342369", "display": "lenalidomide"}
    dosage = lenalidomide["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {
        "value": 25, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert dosage["timing"]["repeat"] == {"frequency": 1, "period": 1, "periodUnit": "d"}
    assert "days 1–21" in dosage["text"]


def test_treatment_detail_cites_facts_rule_and_seeds():
    detail = by_topic(cards_for("r5-emd-no-creatinine"))["treatment-recommendation"]["detail"]
    assert "rule R5" in detail and "lenalidomide-refractory: progression" in detail
    assert "`Observation/" in detail and "S0:" in detail
    assert "CASTOR" in detail and "OPTIMISMM" in detail  # DVd cited from CASTOR; S0's misattribution said


def test_supportive_card_any_with_one_suggestion_per_measure():
    supportive = by_topic(cards_for("r3-hf-pn-vte"))["supportive-care"]
    assert supportive["selectionBehavior"] == "any"
    drugs = {a["resource"].get("medicationCodeableConcept", {}).get("text")
             for s in supportive["suggestions"] for a in s["actions"]}
    assert {"enoxaparin", "apixaban"} <= drugs and "aspirin" not in drugs
    assert all(s["isRecommended"] for s in supportive["suggestions"])


def test_hf_pn_treatment_recommendation_and_elderly_dex():
    treatment = by_topic(cards_for("r3-hf-pn-vte"))["treatment-recommendation"]
    recommended = treatment["suggestions"][0]
    assert recommended["label"].startswith("PCd")
    dex = next(a["resource"] for a in recommended["actions"]
               if a["resource"]["medicationCodeableConcept"]["text"] == "dexamethasone")
    assert dex["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 20


def test_aggressive_card_is_critical_and_first_and_data_gap_is_info_for_dvd():
    cards = cards_for("r5-emd-no-creatinine")
    assert cards[0]["source"]["topic"]["code"] == "aggressive-disease"
    assert cards[0]["indicator"] == "critical" and cards[0]["overrideReasons"]
    assert by_topic(cards)["data-gap"]["indicator"] == "info"


def test_data_gap_warning_when_renal_dosing_is_blocked():
    facts = FactsBuilder().no_recent_creatinine().build()
    gap = by_topic(render(decide(facts, KB), facts, KB))["data-gap"]
    assert gap["indicator"] == "warning" and gap["overrideReasons"]
    assert "creatinine" in gap["detail"]


def test_referral_card_links_and_only_a_service_request_referral():
    cards = cards_for("r2-tcr-xvd")
    referral = by_topic(cards)["referral"]
    assert referral["links"][0]["type"] == "absolute"
    referral_orders = [a["resource"] for s in referral["suggestions"] for a in s["actions"]]
    assert [r["resourceType"] for r in referral_orders] == ["ServiceRequest"]
    assert referral_orders[0]["code"]["coding"][0]["code"] == "3457005"
    forbidden = {"teclistamab", "idecabtagene vicleucel", "ciltacabtagene autoleucel"}
    assert not forbidden & {r.get("medicationCodeableConcept", {}).get("text") for r in created_resources(cards)}


def test_workup_card_creates_coded_service_requests():
    workup = by_topic(cards_for("r1-penta"))["relapse-workup"]
    resources = [a["resource"] for s in workup["suggestions"] for a in s["actions"]]
    assert {r["resourceType"] for r in resources} == {"ServiceRequest"}
    assert all(r["code"]["coding"][0]["code"] and r["code"]["text"] for r in resources)


def test_emptied_list_has_referral_with_specialist_review_and_no_treatment_card():
    topics = by_topic(cards_for("emptied"))
    assert "treatment-recommendation" not in topics and "supportive-care" not in topics
    assert "specialist review" in topics["referral"]["detail"]


def test_possible_progression_is_one_info_data_gap_card():
    cards = cards_for("possible-progression")
    assert [c["source"]["topic"]["code"] for c in cards] == ["data-gap"]
    assert cards[0]["indicator"] == "info"


def test_silent_decision_renders_no_cards():
    facts = FactsBuilder().not_at_relapse().build()
    assert render(decide(facts, KB), facts, KB) == []


def test_mg_per_m2_order_states_the_computed_total():
    treatment = by_topic(cards_for("r7-krd"))["treatment-recommendation"]
    carfilzomib = treatment["suggestions"][0]["actions"][0]["resource"]
    dosage = carfilzomib["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["code"] == "mg/m2"
    assert "= 44 mg at BSA" in dosage["text"] and "capped at 2.2" in dosage["text"]
