"""The decision trace for an explain view: structured (ids, rule ids, reasons as data with their
KB text and sentence), JSON-ready, and the same decision the cards were rendered from."""

from __future__ import annotations

import json
from datetime import date

from cds_service.fetch_policy import UnavailableSource
from cds_service.handlers import HookContext, patient_view_result
from clinical_rules.patient_view import decide
from clinical_rules.trace import decision_trace
from fhir_mappings.index import ResourceIndex

from .builders import FactsBuilder


def test_the_trace_names_row_exclusions_modifier_and_options(kb):
    facts = FactsBuilder().refractory_to("lenalidomide", "daratumumab").with_finding("heart_failure").build()
    trace = decision_trace(decide(facts, kb))
    json.dumps(trace)  # JSON-ready
    treatment = trace["treatment"]
    assert treatment["rowId"] == "R3" and treatment["candidates"] == list(kb.row("R3").list)
    excluded = {e["regimenId"]: e for e in treatment["excluded"]}
    assert excluded["DVd"]["ruleId"] == "H1" and excluded["DVd"]["drug"] == "daratumumab"
    assert excluded["DVd"]["reason"] == {"text": "refractory to daratumumab", "key": "cards.yaml: cards.exclusions.refractory",
                                         "values": {"drug": "daratumumab"}}
    (modifier,) = treatment["modifiers"]
    assert modifier["kind"] == "heart-failure" and modifier["chosen"] == treatment["options"][0]["regimenId"]
    assert modifier["passedOver"] == ["KPd"]
    assert all(f["fact"]["text"] for f in treatment["factsUsed"])


def test_the_handler_returns_the_decision_with_its_cards_and_takes_reported_gaps(kb, monkeypatch):
    from cds_service import handlers

    facts = FactsBuilder().not_at_relapse().build()
    monkeypatch.setattr(handlers, "build_facts", lambda *_a, **_k: facts)
    source = UnavailableSource("medicationStatements", "MedicationStatement", "HTTP 404")
    ctx = HookContext("rrmm-relapse-guidance", "patient-view", "pt-1", date(2026, 3, 1), ResourceIndex("pt-1"), {}, kb,
                      unavailable_sources=(source,))
    result = patient_view_result(ctx)
    assert [c["source"]["topic"]["code"] for c in result.cards] == ["data-gap"]
    trace = decision_trace(result.decision)
    assert trace["dataGaps"]["gaps"][0]["code"] == "reported:source-unavailable:medicationStatements"
    assert "Medication statements could not be read (HTTP 404): drug history recorded as statements" in result.cards[0]["detail"]


def test_the_trace_gives_each_products_label_eligibility(kb):
    """03 §8.1: every T-cell redirecting product's label population judged on the facts, with the
    criteria that are missing, whether it is the preferred next step and prior BCMA therapy."""
    facts = FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "daratumumab", "carfilzomib").build()
    (referral,) = [c for c in decision_trace(decide(facts, kb))["cards"] if c["family"] == "referral"]
    eligibility = referral["labelEligibility"]
    assert eligibility["preferred"] is True and referral["indicator"] == "warning" and referral["precedes"] == "treatment"
    products = {p["product"]: p for p in eligibility["products"]}
    assert list(products) == list(kb.referral.products)
    assert products["idecabtagene vicleucel"]["eligible"] and products["ciltacabtagene autoleucel"]["eligible"]
    assert products["teclistamab"] == {**products["teclistamab"], "eligible": False, "missing": ["min_prior_lines"],
                                       "target": "BCMA", "kind": "bispecific"}
    assert products["talquetamab"]["target"] == "GPRC5D" and products["talquetamab"]["decision"] == "D24"
    assert eligibility["priorBcmaDirected"] == []
    json.dumps(referral)


def test_the_label_populations_are_judged_once_per_decision(kb, monkeypatch):
    """The treatment notes, the referral and the data gaps all read the label eligibility: one
    judgement serves them, and they agree with the eligibility judged on its own."""
    import clinical_rules.patient_view as patient_view
    import clinical_rules.tcr_eligibility as tcr

    judged: list[object] = []

    def counting(facts, kb_):
        judged.append(facts)
        return tcr_label_eligibility(facts, kb_)

    tcr_label_eligibility = tcr.label_eligibility
    monkeypatch.setattr(patient_view, "label_eligibility", counting)
    monkeypatch.setattr(tcr, "label_eligibility", counting)
    facts = FactsBuilder().prior_lines(4).refractory_to("lenalidomide", "pomalidomide", "bortezomib", "carfilzomib",
                                                        "daratumumab").build()
    decision = decide(facts, kb)
    assert judged == [facts]
    (referral,) = [c for c in decision_trace(decision)["cards"] if c["family"] == "referral"]
    alone = tcr_label_eligibility(facts, kb)
    assert referral["labelEligibility"]["preferred"] is alone.preferred is True
    assert [p["product"] for p in referral["labelEligibility"]["products"] if p["eligible"]] == \
        [p.product for p in alone.eligible]
