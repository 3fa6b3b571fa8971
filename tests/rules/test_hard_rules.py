"""Hard rules H1–H6 (03 §2): the mechanics, with the lists and populations read from the KB (the
scenarios in clinical_rules/kb/scenarios/rows.yaml say which regimen each patient gets)."""

from __future__ import annotations

from clinical_rules.hard_rules import drug_exclusion, exclusion_reason, in_population

from .builders import FactsBuilder

PENTA = ("lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab")


def test_h1_a_refractory_drug_is_excluded_with_its_reason(kb):
    facts = FactsBuilder().prior_lines(2).refractory_to("pomalidomide").build()
    excluded = drug_exclusion("pomalidomide", facts, kb)
    assert excluded.rule_id == "H1" and excluded.drug == "pomalidomide"
    assert excluded.reason.text == "refractory to pomalidomide"
    assert drug_exclusion("bortezomib", facts, kb) is None  # exposed but not refractory


def test_h1_the_exempt_drugs_are_never_excluded(kb):
    for drug in kb.hard_rules.refractory_exempt:
        assert drug_exclusion(drug, FactsBuilder().refractory_to(drug).build(), kb) is None


def test_h1_class_wide_refractoriness_excludes_every_member(kb):
    for drug_class in kb.hard_rules.class_wide_refractoriness:
        members = kb.class_members(drug_class)
        facts = FactsBuilder().refractory_to(members[0]).build()
        for member in members:
            excluded = drug_exclusion(member, facts, kb)
            assert excluded is not None and excluded.rule_id == "H1", member


def test_h1_no_switch_after_pi_refractory_disease(kb):
    facts = FactsBuilder().prior_lines(2).refractory_to("bortezomib").build()
    for drug in kb.hard_rules.pi_refractory_excludes:
        assert drug_exclusion(drug, facts, kb).rule_id == "H1"
    assert drug_exclusion("carfilzomib", facts, kb) is None  # switching within the class is allowed


def test_h2_lenalidomide_refractory(kb):
    facts = FactsBuilder().refractory_to("lenalidomide").build()
    assert drug_exclusion("lenalidomide", facts, kb).rule_id == "H2"
    assert drug_exclusion("pomalidomide", facts, kb) is None


def test_h3_a_drug_limited_to_a_population(kb):
    for drug, population in kb.hard_rules.drug_populations.items():
        outside = FactsBuilder().build()
        assert not in_population(population, outside, kb)
        excluded = drug_exclusion(drug, outside, kb)
        assert excluded.rule_id == kb.populations[population].rule
        assert excluded.reason.text.startswith(f"{drug} only ")
    inside = FactsBuilder().cytogenetics(t11_14=True).build()
    assert drug_exclusion("venetoclax", inside, kb) is None


def test_h4_a_regimen_limited_to_its_label_population(kb):
    three_lines = FactsBuilder().prior_lines(3).refractory_to(*PENTA).build()
    four_lines = FactsBuilder().prior_lines(4).refractory_to(*PENTA).build()
    one_pi = FactsBuilder().prior_lines(4).refractory_to("lenalidomide", "pomalidomide", "bortezomib",
                                                        "daratumumab").build()
    assert not in_population("xd-label", three_lines, kb) and not in_population("xd-label", one_pi, kb)
    assert in_population("xd-label", four_lines, kb)
    excluded = exclusion_reason("Xd", "R2", three_lines, kb)
    assert excluded.rule_id == "H4" and "≥ 4 lines" in excluded.reason.text
    assert exclusion_reason("Xd", "R1", four_lines, kb) is None


def test_h4_doublets_only_for_frail_in_the_frail_only_rows(kb):
    fit, frail = FactsBuilder().build(), FactsBuilder().frail().build()
    row = kb.hard_rules.doublets_frail_only_rows[0]
    assert exclusion_reason("Rd", row, fit, kb).rule_id == "H4"
    assert exclusion_reason("Rd", row, frail, kb) is None
    assert exclusion_reason("Pd", "R1", fit, kb) is None  # R1 is not a frail-only row


def test_h6_withdrawn_products(kb):
    facts = FactsBuilder().build()
    for drug in kb.hard_rules.withdrawn:
        assert drug_exclusion(drug, facts, kb).rule_id == "H6"
    # outside this rule set: neither excluded with a warning nor in any regimen
    for drug in kb.hard_rules.not_in_rule_set:
        assert drug_exclusion(drug, facts, kb) is None
        assert not any(drug in regimen.drugs for regimen in kb.regimens.values())
