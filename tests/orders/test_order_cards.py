"""Order-hook cards (cds_cards/order_cards.py): one card per finding, spec-valid, fixes on the draft."""

from __future__ import annotations

from typing import Any

from cds_cards.builder import OVERRIDE_REASON_SYSTEM
from cds_cards.fhir_resources import validate
from cds_cards.order_cards import render_findings
from cds_service.handlers import selected_drafts
from clinical_rules.kb import load_knowledge_base
from clinical_rules.order_checks import check_orders
from fhir_mappings.draft_orders import read_draft_orders
from fhir_mappings.facts import Evidence, Finding, PatientFacts

from .builders import BTZ, DARA, DEX, LEN, POM, draft, facts, refractory_to, renal, taking

KB = load_knowledge_base()


def cards_for(drafts: list[dict], patient: PatientFacts, selections: list[str] | None = None) -> list[dict]:
    orders = read_draft_orders({"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]})
    findings = check_orders(orders, selected_drafts(orders, selections), patient, KB)
    return render_findings(findings, patient.patient_id, KB)


def actions(card: dict) -> list[dict]:
    return [a for s in card.get("suggestions", []) for a in s["actions"]]


def by_topic(cards: list[dict], topic: str) -> list[dict]:
    return [c for c in cards if c["source"]["topic"]["code"] == topic]


def assert_no_empty(value: Any) -> None:
    assert value is not None and value != "" and value != [] and value != {}
    if isinstance(value, dict):
        for child in value.values():
            assert_no_empty(child)
    elif isinstance(value, list):
        for child in value:
            assert_no_empty(child)


def test_o6_update_is_the_whole_corrected_draft_with_text_and_structured_dose() -> None:
    drafts = [draft("d-len", LEN, 25, route="PO", text="25 mg by mouth once daily on days 1-21 of each 28-day cycle",
                    intent=False),
              draft("d-dex", DEX, 40, period_unit="wk"), draft("d-dara", DARA, 1800, period_unit="wk")]
    drafts[0]["note"] = [{"text": "keep me"}]
    (card,) = cards_for(drafts, facts(**taking("aspirin", "acyclovir", "daratumumab"), renal=renal(20)),
                        selections=["MedicationRequest/d-len"])
    (action,) = actions(card)
    resource = action["resource"]
    assert action["type"] == "update" and resource["id"] == "d-len"
    dosage = resource["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": 15, "unit": "mg",
                                                        "system": "http://unitsofmeasure.org", "code": "mg"}
    assert dosage["timing"]["repeat"] == {"frequency": 1, "period": 48, "periodUnit": "h"}
    assert "15 mg" in dosage["text"] and "48" in dosage["text"]
    assert resource["note"] == [{"text": "keep me"}] and resource["status"] == "draft"
    assert resource["intent"] == "order"  # the lenient draft lacked it; the update is valid FHIR R4
    validate(resource)


def test_o6_text_only_draft_gets_a_structured_dose() -> None:
    drafts = [draft("d-len", "Revlimid", text="lenalidomide 25 mg PO daily d1-21"), draft("d-dex", DEX, 40, period_unit="wk"),
              draft("d-dara", DARA, 1800, period_unit="wk")]
    (card,) = by_topic(cards_for(drafts, facts(**taking("aspirin", "acyclovir", "daratumumab"), renal=renal(45))),
                       "dose-adjustment")
    dosage = actions(card)[0]["resource"]["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 10
    assert dosage["timing"]["repeat"]["periodUnit"] == "d"


def test_o7_keeps_the_schedule_wording_and_changes_the_amount() -> None:
    drafts = [draft("d-dex", DEX, 40, period_unit="wk", text="40 mg by mouth once weekly", route="PO"),
              draft("d-pom", POM, 4), draft("d-btz", BTZ, 1.3, "mg/m2", period_unit="wk", route="SC")]
    (card,) = cards_for(drafts, facts(**taking("aspirin", "acyclovir"), age=80, frail=True))
    assert card["indicator"] == "info" and "overrideReasons" in card
    dosage = actions(card)[0]["resource"]["dosageInstruction"][0]
    assert dosage["text"] == "20 mg by mouth once weekly"
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 20
    assert dosage["route"]["coding"][0]["code"] == "PO"  # untouched
    validate(actions(card)[0]["resource"])


def test_o9_update_changes_route_to_subcutaneous() -> None:
    drafts = [draft("d-btz", BTZ, 1.3, "mg/m2", route="IV", text="1.3 mg/m2 IV push days 1, 4, 8, 11"),
              draft("d-pom", POM, 4), draft("d-dex", DEX, 20, period_unit="wk")]
    patient = facts(**taking("aspirin", "acyclovir"), neuropathy=Finding(True, (Evidence("Condition", "pn"),)))
    (card,) = cards_for(drafts, patient)
    resource = actions(card)[0]["resource"]
    route = resource["dosageInstruction"][0]["route"]
    assert route["coding"][0] == {"system": "http://snomed.info/sct", "code": "34206005", "display": "Subcutaneous route"}
    assert "subcutaneous" in resource["dosageInstruction"][0]["text"]
    validate(resource)


def test_o1_critical_delete_and_everything_spec_valid() -> None:
    patient = facts(drug_histories=(refractory_to("lenalidomide"),), lenalidomide_refractory=True, imid_refractory=True)
    drafts = [draft("d-dara", DARA, 1800, period_unit="wk"), draft("d-len", LEN, 25), draft("d-dex", DEX, 40, period_unit="wk")]
    cards = cards_for(drafts, patient)
    (o1,) = by_topic(cards, "contraindication")
    assert o1["indicator"] == "critical"
    assert actions(o1) == [{"type": "delete", "description": KB.cards.order_card.delete.render(draft="lenalidomide"),
                            "resourceId": "MedicationRequest/d-len"}]
    assert o1["extension"]["org.rrmm-cds.provenance"]["ruleIds"] == ["O1", "H2"]  # the hard rule that fired
    assert "KB 2026.2" in o1["detail"] and "Observation/ds1" not in o1["detail"]  # resources: in the extension
    references = [r for f in o1["extension"]["org.rrmm-cds.provenance"]["facts"] for r in f["references"]]
    assert "Observation/ds1" in references
    for card in cards:
        assert_no_empty(card)
        assert len(card["summary"]) <= 139
        if card["indicator"] != "info":
            assert card["overrideReasons"] and all(r["system"] == OVERRIDE_REASON_SYSTEM and r["display"]
                                                   for r in card["overrideReasons"])
        for action in actions(card):
            if "resource" in action:
                validate(action["resource"])


def test_supportive_care_creates_and_alternatives_choose_one() -> None:
    drafts = [draft("d-dara", DARA, 1800, period_unit="wk"), draft("d-len", LEN, 25), draft("d-dex", DEX, 40, period_unit="wk")]
    cards = by_topic(cards_for(drafts, facts()), "supportive-care")
    created = {a["resource"]["medicationCodeableConcept"]["text"]: card["selectionBehavior"]
               for card in cards for a in actions(card) if a["resource"]["resourceType"] == "MedicationRequest"}
    assert created == {"aspirin": "at-most-one", "acyclovir": "at-most-one", "valacyclovir": "at-most-one"}
    services = [a["resource"] for card in cards for a in actions(card) if a["resource"]["resourceType"] == "ServiceRequest"]
    assert [s["code"]["coding"][0]["code"] for s in services] == ["34532-2"]
    assert all(a["resource"]["subject"] == {"reference": "Patient/p1"} for card in cards for a in actions(card))


def test_no_finding_no_cards() -> None:
    patient = facts(**taking("aspirin", "acyclovir", "daratumumab"), anti_cd38_exposed=True)
    assert cards_for([draft("d-dara", DARA, 1800, period_unit="wk"), draft("d-len", LEN, 25),
                      draft("d-dex", DEX, 40, period_unit="wk")], patient) == []


def test_o7_on_a_text_only_draft_adds_structured_dose_and_timing() -> None:
    drafts = [draft("d-dex", "Decadron", text="dexamethasone 40 mg PO once weekly"), draft("d-pom", POM, 4),
              draft("d-btz", BTZ, 1.3, "mg/m2", period_unit="wk", route="SC")]
    (card,) = cards_for(drafts, facts(**taking("aspirin", "acyclovir"), age=77))
    dosage = actions(card)[0]["resource"]["dosageInstruction"][0]
    assert dosage["text"] == "dexamethasone 20 mg PO once weekly"
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 20
    assert dosage["timing"]["repeat"] == {"frequency": 1, "period": 1.0, "periodUnit": "wk"}
    validate(actions(card)[0]["resource"])


def test_o1_for_a_drug_excluded_with_its_class_does_not_claim_refractoriness_to_it() -> None:
    """Ixazomib after bortezomib-refractory disease, isatuximab after daratumumab-refractory
    disease (H1): the patient never had the drafted drug, so the card says why it is excluded
    without calling the patient refractory to it; refractoriness to the drug itself keeps its wording."""
    from .builders import IXA, rx

    ixazomib_after_btz = facts(drug_histories=(refractory_to("bortezomib"),), pi_refractory=True,
                               **taking("aspirin", "acyclovir"))
    (card,) = by_topic(cards_for([draft("d-ixa", IXA, 4, period_unit="wk"), draft("d-dex", DEX, 40, period_unit="wk")],
                                 ixazomib_after_btz), "contraindication")
    assert card["summary"] == "Ixazomib drafted, but the disease is refractory to its drug class"
    assert "the patient is refractory to" not in card["summary"] + card["detail"]
    assert "PI-refractory: no switch to ixazomib" in card["detail"]
    assert card["extension"]["org.rrmm-cds.provenance"]["ruleIds"] == ["O1", "H1"]

    isatuximab_after_dara = facts(drug_histories=(refractory_to("daratumumab"),), anti_cd38_refractory=True,
                                  anti_cd38_exposed=True, **taking("aspirin", "acyclovir"))
    (card,) = by_topic(cards_for([draft("d-isa", rx("2283048", "isatuximab"), 10, "mg/kg", period_unit="wk")],
                                 isatuximab_after_dara), "contraindication")
    assert card["summary"] == "Isatuximab drafted, but the disease is refractory to its drug class"

    own = facts(drug_histories=(refractory_to("bortezomib"),), pi_refractory=True, **taking("aspirin", "acyclovir"))
    (card,) = by_topic(cards_for([draft("d-btz", BTZ, 1.3, "mg/m2", period_unit="wk", route="SC")], own),
                       "contraindication")
    assert card["summary"] == "Bortezomib drafted, but the patient is refractory to it"
