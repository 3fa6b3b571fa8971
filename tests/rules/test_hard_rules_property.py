"""Property: for any combination of refractoriness, lines, findings and cytogenetics, no
suggestion in any card breaks H1–H6, and the same facts always give the same cards' content."""

from __future__ import annotations

from helpers import assert_valid_cds_response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_cards.patient_view import render
from clinical_rules.hard_rules import class_refractory, in_population
from clinical_rules.kb import load_knowledge_base
from clinical_rules.patient_view import decide

from .builders import FactsBuilder

KB = load_knowledge_base()
ANTIMYELOMA = ["lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "ixazomib", "daratumumab",
               "isatuximab", "elotuzumab", "selinexor", "cyclophosphamide"]
# What the knowledge base says is never suggested, and what the rules exclude (read from the KB).
NEVER = set(KB.hard_rules.withdrawn) | set(KB.hard_rules.not_in_rule_set)
EXEMPT = set(KB.hard_rules.refractory_exempt)
FINDINGS = ["heart_failure", "neuropathy", "vte_history", "plasma_cell_leukaemia", "extramedullary"]


@st.composite
def patients(draw):
    builder = FactsBuilder().prior_lines(draw(st.integers(0, 6))).age(draw(st.integers(40, 90)))
    builder.refractory_to(*draw(st.sets(st.sampled_from(ANTIMYELOMA))))
    builder.exposed_to(*draw(st.sets(st.sampled_from(ANTIMYELOMA))))
    for finding in draw(st.sets(st.sampled_from(FINDINGS))):
        builder.with_finding(finding)
    builder.ecog(draw(st.sampled_from([None, 0, 1, 2, 3])))
    builder.cytogenetics(t11_14=draw(st.booleans()), del17p=draw(st.booleans()))
    renal = draw(st.sampled_from(["normal", "moderate", "severe", "dialysis", "unknown"]))
    {"normal": lambda: builder.crcl(85), "moderate": lambda: builder.crcl(40), "severe": lambda: builder.crcl(12),
     "dialysis": builder.on_dialysis, "unknown": builder.no_recent_creatinine}[renal]()
    if draw(st.booleans()):
        builder.asct(draw(st.floats(3, 80)))
    return builder.build()


def _suggested_regimens(decision):
    return decision.treatment.treatment.options if decision.treatment else ()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients())
def test_no_suggestion_breaks_a_hard_rule(facts):
    decision = decide(facts, KB)
    treatment = decision.treatment.treatment if decision.treatment else None
    for option in _suggested_regimens(decision):
        drugs = set(option.drugs)
        for drug in drugs - EXEMPT:
            assert not facts.is_refractory(drug), (option.regimen_id, drug)
        for drug_class in KB.hard_rules.class_wide_refractoriness:
            if class_refractory(drug_class, facts, KB):
                assert not drugs & set(KB.class_members(drug_class))
        if facts.pi_refractory:
            assert not drugs & set(KB.hard_rules.pi_refractory_excludes)
        if facts.lenalidomide_refractory:
            assert "lenalidomide" not in drugs
        for drug, population in KB.hard_rules.drug_populations.items():
            if drug in drugs:
                assert in_population(population, facts, KB)
        assert not drugs & NEVER
        for population in KB.regimens[option.regimen_id].requires:
            assert in_population(population, facts, KB)
        if KB.regimens[option.regimen_id].kind == "doublet" and treatment.row_id in KB.hard_rules.doublets_frail_only_rows:
            assert facts.frail
        if len(drugs - EXEMPT) >= 2:
            active = [d for d in drugs - EXEMPT if not facts.is_refractory(d)]
            assert len(active) >= KB.hard_rules.min_non_refractory_agents  # H4
    options = _suggested_regimens(decision)
    avoid = set(KB.modifiers.heart_failure_avoid)
    if options and facts.heart_failure.present and any(not avoid & set(o.drugs) for o in options):
        assert not avoid & set(options[0].drugs)  # H5
    assert len(options) <= 1 + KB.modifiers.max_alternatives
    cards = render(facts, KB)
    assert_valid_cds_response({"cards": cards})
    topics = [c["source"]["topic"]["code"] for c in cards]
    assert topics.count("treatment-recommendation") <= 1
    assert decide(facts, KB) == decision
