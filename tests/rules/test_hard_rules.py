"""Hard rules H1–H6 (03 §2) on every suggested regimen."""

from __future__ import annotations

from clinical_rules.hard_rules import drug_exclusion, exclusion_reason, in_xd_label_population
from clinical_rules.relapse import decide

from .builders import FactsBuilder


def suggested_drugs(facts, kb) -> set[str]:
    return {d for o in decide(facts, kb).treatment.options for d in o.drugs}


def test_h1_refractory_drug_never_suggested(kb):
    facts = FactsBuilder().prior_lines(2).refractory_to("lenalidomide", "pomalidomide").build()
    assert not {"lenalidomide", "pomalidomide"} & suggested_drugs(facts, kb)
    assert drug_exclusion("pomalidomide", facts, kb)[0] == "H1"


def test_h1_dexamethasone_is_exempt(kb):
    facts = FactsBuilder().refractory_to("dexamethasone").build()
    assert drug_exclusion("dexamethasone", facts, kb) is None
    assert "dexamethasone" in suggested_drugs(facts, kb)


def test_h1_anti_cd38_refractoriness_excludes_daratumumab_and_isatuximab(kb):
    facts = FactsBuilder().refractory_to("lenalidomide", "isatuximab").build()
    assert drug_exclusion("daratumumab", facts, kb)[0] == "H1"
    assert not {"daratumumab", "isatuximab"} & suggested_drugs(facts, kb)


def test_h1_class_switch_allowed_except_ixazomib_after_pi_refractory(kb):
    facts = FactsBuilder().prior_lines(2).refractory_to("bortezomib").build()
    assert drug_exclusion("carfilzomib", facts, kb) is None
    assert drug_exclusion("ixazomib", facts, kb)[0] == "H1"
    pomalidomide_after_len = FactsBuilder().refractory_to("lenalidomide").build()
    assert drug_exclusion("pomalidomide", pomalidomide_after_len, kb) is None


def test_h2_no_lenalidomide_regimen_when_lenalidomide_refractory(kb):
    facts = FactsBuilder().refractory_to("lenalidomide").build()
    assert drug_exclusion("lenalidomide", facts, kb)[0] == "H2"
    assert "lenalidomide" not in suggested_drugs(facts, kb)


def test_h3_venetoclax_only_with_t11_14(kb):
    base = FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab")
    assert "venetoclax" not in suggested_drugs(base.build(), kb)
    assert exclusion_reason("VenD", "R1", base.build(), kb)[0] == "H3"
    positive = base.cytogenetics(t11_14=True).build()
    assert "VenD" in [o.regimen_id for o in decide(positive, kb).treatment.options]


def test_h4_doublets_only_for_frail_in_rows_r3_to_r9(kb):
    fit, frail = FactsBuilder().build(), FactsBuilder().frail().build()
    assert exclusion_reason("Rd", "R6", fit, kb)[0] == "H4"
    assert exclusion_reason("Rd", "R6", frail, kb) is None
    assert exclusion_reason("Pd", "R3", fit, kb)[0] == "H4"


def test_h4_xd_only_in_its_label_population(kb):
    three_lines = FactsBuilder().prior_lines(3).refractory_to(
        "lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab").build()
    assert not in_xd_label_population(three_lines, kb)
    one_pi = FactsBuilder().prior_lines(4).refractory_to("lenalidomide", "pomalidomide", "bortezomib", "daratumumab").build()
    assert not in_xd_label_population(one_pi, kb)
    label = FactsBuilder().prior_lines(4).refractory_to(
        "lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab").build()
    assert in_xd_label_population(label, kb)
    assert exclusion_reason("Xd", "R2", three_lines, kb)[0] == "H4"


def test_h6_withdrawn_products_never_suggested(kb):
    facts = FactsBuilder().build()
    assert drug_exclusion("melphalan flufenamide", facts, kb)[0] == "H6"
    assert drug_exclusion("panobinostat", facts, kb)[0] == "H6"
    # belantamab is outside the rule set: neither excluded with a warning nor ever suggested
    assert drug_exclusion("belantamab mafodotin", facts, kb) is None
    assert not any("belantamab" in r for reg in kb.regimens.values() for r in reg["drugs"])


def test_exclusions_are_reported_with_their_rule(kb):
    decision = decide(FactsBuilder().refractory_to("lenalidomide", "daratumumab").build(), kb)
    excluded = {e.regimen_id: e.rule_id for e in decision.treatment.exclusions}
    assert excluded == {"DVd": "H1", "DKd": "H1", "DPd": "H1"}
