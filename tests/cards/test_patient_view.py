"""Patient-view cards (04 §1–§3, §5): shape, suggestions, FHIR validity, provenance, wording from
the knowledge base. Which regimen and which cards each patient gets are scenarios
(clinical_rules/kb/scenarios/); here the cards' form."""

from __future__ import annotations

import json

import pytest
from helpers import assert_valid_cds_response
from rules.builders import FactsBuilder

from cds_cards.fhir_resources import validate
from cds_cards.patient_view import patient_view, render
from cds_cards.provenance import PROVENANCE_KEY
from cds_service.observability.audit import card_provenance
from clinical_rules.kb import load_knowledge_base

KB = load_knowledge_base()
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

PATIENTS = {
    "first-relapse": FactsBuilder(),
    "len-refractory-emd-no-creatinine": FactsBuilder().refractory_to("lenalidomide").with_finding("extramedullary")
    .no_recent_creatinine(),
    "penta-no-fish": FactsBuilder().prior_lines(3).refractory_to(
        "lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab").no_cytogenetics(),
    "tcr": FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "daratumumab", "carfilzomib"),
    "hf-pn-vte-77": FactsBuilder().refractory_to("lenalidomide", "daratumumab").with_finding("heart_failure")
    .with_finding("neuropathy").with_finding("vte_history").age(77),
    "anti-cd38-exposed-big": FactsBuilder().exposed_to("daratumumab").asct(24).body(200, 130),
    "emptied": FactsBuilder().prior_lines(2).refractory_to(
        "lenalidomide", "bortezomib", "pomalidomide", "carfilzomib", "elotuzumab"),
    "possible-progression": FactsBuilder().possible_progression(),
    "no-response-data": FactsBuilder().not_at_relapse().no_response_measurements(),
}


def cards_for(name: str) -> list[dict]:
    return render(PATIENTS[name].build(), KB)


def by_topic(cards: list[dict]) -> dict[str, dict]:
    return {c["source"]["topic"]["code"]: c for c in cards}


def created_resources(cards: list[dict]):
    for card in cards:
        for suggestion in card.get("suggestions", []):
            for action in suggestion.get("actions", []):
                if action["type"] == "create":
                    yield action["resource"]


@pytest.mark.parametrize("name", sorted(PATIENTS))
def test_every_response_is_spec_valid_and_sourced(name):
    cards = cards_for(name)
    assert cards
    assert_valid_cds_response({"cards": cards})
    for card in cards:
        assert card["source"]["label"] == KB.source_label
        assert card["source"]["topic"]["display"] == KB.cards.topics[card["source"]["topic"]["code"]]
        assert card["detail"]
        rule_ids, kb_version = card_provenance(card)
        assert rule_ids and kb_version == KB.version
        # The detail's last line states the same provenance the extension carries.
        assert card["detail"].rsplit("\n", 1)[-1].startswith(f"*Rule {', '.join(rule_ids)} · KB {KB.version}")
        if card["indicator"] != "info":
            assert card["overrideReasons"] and all(r["display"] for r in card["overrideReasons"])
    assert "91.3" not in json.dumps(cards)


@pytest.mark.parametrize("name", sorted(PATIENTS))
def test_every_created_resource_is_valid_fhir_r4(name):
    for resource in created_resources(cards_for(name)):
        validate(resource)
        assert resource["status"] == "draft" and resource["intent"] == "proposal"
        assert resource["subject"] == {"reference": "Patient/pt-1"}


def test_treatment_card_one_suggestion_per_regimen_recommended_first():
    view = patient_view(PATIENTS["first-relapse"].build(), KB)
    options = view.decision.treatment.treatment.options
    treatment = by_topic(view.cards)["treatment-recommendation"]
    assert treatment["selectionBehavior"] == "at-most-one"
    suggestions = treatment["suggestions"]
    assert [s.get("isRecommended") for s in suggestions] == [o.recommended for o in options] == \
        [True] + [False] * (len(options) - 1)
    assert [s["label"] for s in suggestions] == [KB.regimen_label(o.regimen_id) for o in options]
    recommended = options[0]
    requests = [a["resource"] for a in suggestions[0]["actions"]]
    assert [r["medicationCodeableConcept"]["text"] for r in requests] == list(recommended.drugs)
    for resource, dose in zip(requests, recommended.doses, strict=True):
        if dose.rxnorm:
            assert resource["medicationCodeableConcept"]["coding"][0] == {
                "system": RXNORM, "code": dose.rxnorm, "display": dose.drug}
        dosage = resource["dosageInstruction"][0]
        assert dosage["doseAndRate"][0]["doseQuantity"] == {
            "value": dose.value, "unit": dose.unit, "system": "http://unitsofmeasure.org", "code": dose.unit}
        assert dosage["timing"]["repeat"] == {"frequency": dose.frequency, "period": dose.period,
                                              "periodUnit": dose.period_unit}
        assert dosage["text"] == dose.text
        assert dosage["route"]["coding"][0]["code"] == KB.routes[dose.route].coding.code


def test_treatment_detail_cites_facts_rule_exclusions_and_disagreements():
    view = patient_view(PATIENTS["len-refractory-emd-no-creatinine"].build(), KB)
    treatment = view.decision.treatment.treatment
    detail = by_topic(view.cards)["treatment-recommendation"]["detail"]
    *sentences, provenance = detail.split("\n")
    assert f"Rule {treatment.row_id}" in provenance and "KB 2026.2" in provenance  # ids only in the provenance line
    assert f"rule {treatment.row_id}" not in detail.lower().replace(provenance.lower(), "")
    assert "refractory to lenalidomide" in detail or "lenalidomide-refractory" in detail
    assert "S0 (AI-generated, unreviewed)" in provenance  # S0 shown for what it is (03 §8.3)
    assert "`Observation/" not in detail  # the resources behind the facts are in the extension
    facts = by_topic(view.cards)["treatment-recommendation"]["extension"][PROVENANCE_KEY]["facts"]
    assert any(ref.startswith("Observation/") for fact in facts for ref in fact["references"])
    for disagreement in treatment.disagreements:
        assert disagreement.text in detail


def test_the_treatment_provenance_names_the_row_the_hard_rules_and_the_dose_sources():
    view = patient_view(FactsBuilder().prior_lines(2).refractory_to("lenalidomide", "daratumumab").build(), KB)
    treatment = view.decision.treatment.treatment
    body = by_topic(view.cards)["treatment-recommendation"]["extension"][PROVENANCE_KEY]
    assert body["ruleIds"] == [treatment.row_id, *dict.fromkeys(e.rule_id for e in treatment.exclusions)]
    assert "label" in body["sources"]  # the starting doses come from the labels


def test_supportive_card_one_suggestion_per_measure_any():
    view = patient_view(PATIENTS["hf-pn-vte-77"].build(), KB)
    supportive = by_topic(view.cards)["supportive-care"]
    measures = view.decision.treatment.supportive
    assert supportive["selectionBehavior"] == "any"
    assert [s["label"] for s in supportive["suggestions"]] == [m.label for m in measures]
    # Within one need only the first option is recommended (04 §3); tests are each wanted.
    first_of_need = {m.need: m.label for m in reversed(measures)}
    assert [s["isRecommended"] for s in supportive["suggestions"]] == [
        m.kind == "service" or first_of_need[m.need] == m.label for m in measures]
    assert sum(s["isRecommended"] for s in supportive["suggestions"]) < len(measures)
    need = KB.supportive_care["vte-prophylaxis"]
    drugs = {m.drug for m in measures}
    assert set(need.prior_vte_options) <= drugs and not set(need.options) & drugs  # prior VTE


def test_aggressive_card_critical_first_and_data_gap_indicator():
    cards = cards_for("len-refractory-emd-no-creatinine")
    assert cards[0]["source"]["topic"]["code"] == "aggressive-disease"
    assert cards[0]["indicator"] == "critical" and cards[0]["overrideReasons"]
    assert [r["code"] for r in cards[0]["overrideReasons"]] == list(KB.cards.aggressive.override_reasons)


def test_data_gap_warning_when_renal_dosing_is_blocked():
    gap = by_topic(render(FactsBuilder().no_recent_creatinine().build(), KB))["data-gap"]
    assert gap["indicator"] == "warning"
    assert [r["code"] for r in gap["overrideReasons"]] == list(KB.cards.data_gap.override_reasons)


def test_referral_card_links_and_only_a_service_request_referral():
    cards = cards_for("tcr")
    referral = by_topic(cards)["referral"]
    assert [link["url"] for link in referral["links"]] == [KB.links[n].url for n in KB.cards.referral.links]
    orders = [a["resource"] for s in referral["suggestions"] for a in s["actions"]]
    assert {r["resourceType"] for r in orders} == {"ServiceRequest"} and len(orders) >= 2  # CAR-T centre, trial
    assert all(r["code"]["coding"][0]["code"] == KB.services[KB.referral.service].code for r in orders)
    assert referral["indicator"] == "warning" and referral["overrideReasons"]  # TCR: the preferred next step
    assert [c["source"]["topic"]["code"] for c in cards].index("referral") < [
        c["source"]["topic"]["code"] for c in cards].index("treatment-recommendation")
    cell_therapy = {d.generic for c in ("BCMA CAR-T", "bispecific") for d in KB.catalog.by_class(c)}
    assert not cell_therapy & {r.get("medicationCodeableConcept", {}).get("text") for r in created_resources(cards)}



@pytest.mark.parametrize("name", ["first-relapse", "tcr", "penta-no-fish", "len-refractory-emd-no-creatinine"])
def test_a_referral_order_never_names_a_product_whose_label_population_does_not_hold(name):
    """03 §8.1: the referral lists the products whose population holds; the one-click order may
    not name another (ide-cel needs two prior lines and anti-CD38 exposure)."""
    from clinical_rules.tcr_eligibility import label_eligibility

    facts = PATIENTS[name].build()
    referral = by_topic(render(facts, KB)).get("referral")
    if referral is None:
        return
    eligible = {p.product for p in label_eligibility(facts, KB).eligible}
    ordered = " ".join(json.dumps(s) for s in referral["suggestions"])
    named = {product for product in KB.referral.products if product in ordered}
    assert named <= eligible, (name, named - eligible)

def test_workup_card_creates_coded_service_requests():
    workup = by_topic(cards_for("penta-no-fish"))["relapse-workup"]
    resources = [a["resource"] for s in workup["suggestions"] for a in s["actions"]]
    assert {r["resourceType"] for r in resources} == {"ServiceRequest"}
    assert all(r["code"]["coding"][0]["code"] and r["code"]["text"] for r in resources)


def test_emptied_list_has_referral_with_specialist_review_and_no_treatment_card():
    topics = by_topic(cards_for("emptied"))
    assert "treatment-recommendation" not in topics and "supportive-care" not in topics
    assert "specialist review" in topics["referral"]["detail"]


def test_possible_progression_is_one_info_data_gap_card_with_the_rise():
    cards = cards_for("possible-progression")
    assert [c["source"]["topic"]["code"] for c in cards] == ["data-gap"]
    assert cards[0]["indicator"] == "info" and "unconfirmed rise" in cards[0]["detail"]


def test_no_response_measurements_is_never_silence():
    cards = cards_for("no-response-data")
    assert [c["source"]["topic"]["code"] for c in cards] == ["data-gap"]
    assert "No serum or urine M-protein or free light chains on file" in cards[0]["detail"]


def test_silent_states_render_no_cards():
    for builder in (FactsBuilder().not_at_relapse(), FactsBuilder().no_myeloma(), FactsBuilder().new_line_started()):
        assert render(builder.build(), KB) == []


def test_mg_per_m2_order_states_the_computed_total():
    treatment = by_topic(cards_for("anti-cd38-exposed-big"))["treatment-recommendation"]
    carfilzomib = treatment["suggestions"][0]["actions"][0]["resource"]
    dosage = carfilzomib["dosageInstruction"][0]
    cap = KB.doses["carfilzomib"].bsa_cap_m2
    assert dosage["doseAndRate"][0]["doseQuantity"]["code"] == "mg/m2"
    assert "mg at BSA" in dosage["text"] and f"capped at {cap:g}" in dosage["text"]


def test_a_finding_among_the_facts_carries_the_date_of_its_latest_record():
    """04 §1: decisive facts with their date. Extramedullary disease decides the aggressive-disease
    card; it is shown with the date of the latest Condition that records it."""
    from dataclasses import replace
    from datetime import date

    from fhir_mappings.facts import Evidence, Finding

    facts = PATIENTS["first-relapse"].build()
    dated = replace(facts, extramedullary=Finding(True, (
        Evidence("Condition", "emd-1", date(2025, 9, 2), "extramedullary plasmacytoma"),
        Evidence("Condition", "emd-2", date(2026, 2, 20), "extramedullary plasmacytoma"))))
    aggressive = by_topic(render(dated, KB))["aggressive-disease"]
    facts_used = aggressive["extension"][PROVENANCE_KEY]["facts"]
    (line,) = [f for f in facts_used if f["fact"].startswith("extramedullary disease")]
    assert line["fact"] == "extramedullary disease (recorded 2026-02-20)"
    assert line["references"] == ["Condition/emd-1", "Condition/emd-2"]
    undated = replace(facts, extramedullary=Finding(True, (Evidence("Condition", "emd-3"),)))
    (line,) = [f for f in by_topic(render(undated, KB))["aggressive-disease"]["extension"][PROVENANCE_KEY]["facts"]
               if f["fact"].startswith("extramedullary disease")]
    assert line["fact"] == "extramedullary disease"  # no date is invented
