"""Property: for any combination of refractoriness, lines, findings and cytogenetics, no
suggestion in any card breaks H1–H6, and the same facts always give the same cards' content."""

from __future__ import annotations

from helpers import assert_valid_cds_response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_cards.patient_view import render
from clinical_rules.hard_rules import in_xd_label_population
from clinical_rules.kb import load_knowledge_base
from clinical_rules.relapse import decide

from .builders import FactsBuilder

KB = load_knowledge_base()
ANTIMYELOMA = ["lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "ixazomib", "daratumumab",
               "isatuximab", "elotuzumab", "selinexor", "cyclophosphamide"]
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
    return decision.treatment.options if decision.treatment else ()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients())
def test_no_suggestion_breaks_a_hard_rule(facts):
    decision = decide(facts, KB)
    for option in _suggested_regimens(decision):
        drugs = set(option.drugs)
        for drug in drugs - {"dexamethasone"}:
            assert not facts.is_refractory(drug), (option.regimen_id, drug)
        if facts.anti_cd38_refractory:
            assert not drugs & {"daratumumab", "isatuximab"}
        if facts.pi_refractory:
            assert "ixazomib" not in drugs
        if facts.lenalidomide_refractory:
            assert "lenalidomide" not in drugs
        if "venetoclax" in drugs:
            assert facts.t11_14_positive
        assert not drugs & {"melphalan flufenamide", "panobinostat", "belantamab mafodotin"}
        if option.regimen_id == "Xd":
            assert in_xd_label_population(facts, KB)
        if KB.regimens[option.regimen_id]["kind"] == "doublet" and decision.treatment.row_id not in ("R1", "R2"):
            assert facts.frail
        if len(drugs - {"dexamethasone"}) >= 2:
            assert len([d for d in drugs - {"dexamethasone"} if not facts.is_refractory(d)]) >= 2  # H4
    options = _suggested_regimens(decision)
    if options and facts.heart_failure.present:
        survivors_without_k = [o for o in options if "carfilzomib" not in o.drugs]
        if survivors_without_k:
            assert "carfilzomib" not in options[0].drugs  # H5
    assert len(options) <= 5
    cards = render(decision, facts, KB)
    assert_valid_cds_response({"cards": cards})
    topics = [c["source"]["topic"]["code"] for c in cards]
    assert topics.count("treatment-recommendation") <= 1
    assert decide(facts, KB) == decision
