"""HF / PN modifiers (03 §3): which survivor is recommended; passed-over ones stay in list order."""

from __future__ import annotations

from clinical_rules.relapse import decide

from .builders import FactsBuilder


def order(facts, kb) -> list[str]:
    return [o.regimen_id for o in decide(facts, kb).treatment.options]


def test_heart_failure_skips_carfilzomib(kb):
    facts = FactsBuilder().exposed_to("daratumumab").with_finding("heart_failure").build()
    assert order(facts, kb) == ["IRd", "KRd", "ERd", "DRd"]


def test_neuropathy_skips_bortezomib(kb):
    facts = FactsBuilder().refractory_to("lenalidomide").with_finding("neuropathy").build()
    assert order(facts, kb) == ["DPd", "DVd", "DKd", "PVd", "IsaPd"]


def test_both_choose_the_first_without_either(kb):
    facts = (
        FactsBuilder().refractory_to("lenalidomide", "daratumumab")
        .with_finding("heart_failure").with_finding("neuropathy").build()
    )
    # R3: KPd (K), PVd (V), PCd (neither) ...
    assert order(facts, kb)[:3] == ["PCd", "KPd", "PVd"]


def test_both_without_a_regimen_avoiding_both_prefer_avoiding_carfilzomib(kb):
    facts = (
        FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "daratumumab", "carfilzomib", "pomalidomide")
        .with_finding("heart_failure").with_finding("neuropathy").build()
    )
    # R2 for TCR: XVd (V) first; KPd, PCd, EPd drop (pomalidomide); no survivor avoids both -> XVd
    decision = decide(facts, kb)
    assert [o.regimen_id for o in decision.treatment.options][0] == "XVd"


def test_no_survivor_avoids_the_drug_the_list_order_stands(kb):
    facts = (
        FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "daratumumab", "carfilzomib", "pomalidomide")
        .with_finding("neuropathy").build()
    )
    decision = decide(facts, kb)
    assert decision.treatment.options[0].regimen_id == "XVd"
    assert any("list order stands" in m for m in decision.treatment.modifiers)


def test_frail_uses_the_frail_list(kb):
    assert order(FactsBuilder().ecog(3).build(), kb)[0] == "IRd"


def test_at_most_four_alternatives(kb):
    options = order(FactsBuilder().refractory_to("lenalidomide", "daratumumab").build(), kb)
    assert len(options) == 5
