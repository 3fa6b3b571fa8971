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
