"""Decision rows R1–R9 (03 §3): the first matching row, its list, frail variants, R9's borrowed list."""

from __future__ import annotations

import pytest

from clinical_rules.relapse import decide

from .builders import FactsBuilder

PENTA = ("lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab")


def regimens(facts, kb) -> list[str]:
    decision = decide(facts, kb)
    assert decision.treatment is not None
    return [o.regimen_id for o in decision.treatment.options]


def row(facts, kb) -> str:
    return decide(facts, kb).treatment.row_id


def test_r1_penta_refractory_outside_the_xd_label_gets_dcep(kb):
    facts = FactsBuilder().prior_lines(3).refractory_to(*PENTA).build()
    assert row(facts, kb) == "R1"
    assert regimens(facts, kb) == ["DCEP"]  # Xd: < 4 lines; VenD: no t(11;14)


def test_r1_xd_first_in_its_label_population(kb):
    facts = FactsBuilder().prior_lines(4).refractory_to(*PENTA).cytogenetics(t11_14=True).build()
    assert regimens(facts, kb) == ["Xd", "DCEP", "VenD"]


def test_r1_wins_over_r2_for_a_penta_refractory_patient(kb):
    facts = FactsBuilder().prior_lines(3).refractory_to(*PENTA).build()
    assert facts.triple_class_refractory and facts.penta_refractory
    assert row(facts, kb) == "R1"


def test_r2_triple_class_refractory_bortezomib_sensitive_gets_xvd(kb):
    facts = FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "daratumumab", "carfilzomib").build()
    assert row(facts, kb) == "R2"
    assert regimens(facts, kb)[0] == "XVd"
    assert "KPd" not in regimens(facts, kb)  # carfilzomib-refractory


def test_r2_doublets_allowed_for_fit_patients(kb):
    facts = (
        FactsBuilder().prior_lines(4)
        .refractory_to("lenalidomide", "pomalidomide", "daratumumab", "bortezomib", "ixazomib")
        .cytogenetics(t11_14=True).build()
    )
    assert not facts.frail and not facts.penta_refractory
    assert regimens(facts, kb) == ["Xd", "VenD"]


def test_r3_len_refractory_and_anti_cd38_exposed_gets_kpd(kb):
    facts = FactsBuilder().refractory_to("lenalidomide", "daratumumab").build()
    assert row(facts, kb) == "R3"
    assert regimens(facts, kb) == ["KPd", "PVd", "PCd", "VCd", "XVd"]


def test_r3_anti_cd38_exposure_without_refractoriness_keeps_daratumumab_regimens(kb):
    facts = FactsBuilder().prior_lines(2).refractory_to("lenalidomide", "carfilzomib").exposed_to("daratumumab").build()
    assert row(facts, kb) == "R3"
    assert regimens(facts, kb) == ["PVd", "PCd", "VCd", "XVd", "DVd"]


def test_r4_len_and_pi_refractory_anti_cd38_naive_gets_dpd(kb):
    facts = FactsBuilder().refractory_to("lenalidomide", "bortezomib").build()
    assert row(facts, kb) == "R4"
    assert regimens(facts, kb) == ["DPd", "DKd", "IsaPd", "IsaKd", "EPd"]


def test_r5_len_refractory_not_pi_refractory_gets_dvd(kb):
    facts = FactsBuilder().refractory_to("lenalidomide").build()
    assert row(facts, kb) == "R5"
    assert regimens(facts, kb) == ["DVd", "DPd", "DKd", "PVd", "IsaPd"]


def test_r6_first_relapse_gets_drd(kb):
    facts = FactsBuilder().build()
    assert row(facts, kb) == "R6"
    assert regimens(facts, kb) == ["DRd", "KRd", "IRd", "ERd", "DKd"]


def test_r6_frail_gets_ird_first(kb):
    facts = FactsBuilder().frail().build()
    assert regimens(facts, kb) == ["IRd", "DRd", "ERd"]


def test_age_80_is_frail(kb):
    facts = FactsBuilder().age(80).ecog(0).build()
    assert regimens(facts, kb)[0] == "IRd"


def test_r7_prior_daratumumab_gets_krd(kb):
    facts = FactsBuilder().exposed_to("daratumumab").build()
    assert row(facts, kb) == "R7"
    assert regimens(facts, kb) == ["KRd", "IRd", "ERd", "DRd"]


def test_r7_frail(kb):
    facts = FactsBuilder().exposed_to("daratumumab").frail().build()
    assert regimens(facts, kb) == ["IRd", "ERd", "KRd"]


def test_r8_pi_refractory_two_lines_gets_drd(kb):
    facts = FactsBuilder().prior_lines(2).refractory_to("bortezomib").build()
    assert row(facts, kb) == "R8"
    assert regimens(facts, kb) == ["DRd", "DPd", "ERd", "EPd"]


@pytest.mark.parametrize(
    ("exposed", "frail", "expected"),
    [
        ((), False, ["DRd", "KRd", "IRd", "ERd", "DKd"]),
        (("daratumumab",), False, ["KRd", "IRd", "ERd", "DRd"]),
        ((), True, ["IRd", "DRd", "ERd"]),
        (("daratumumab",), True, ["IRd", "ERd", "KRd"]),
    ],
)
def test_r9_uses_the_r6_or_r7_list_by_anti_cd38_exposure(kb, exposed, frail, expected):
    builder = FactsBuilder().prior_lines(2).exposed_to(*exposed)
    facts = (builder.frail() if frail else builder).build()
    decision = decide(facts, kb)
    assert decision.treatment.row_id == "R9"
    assert [o.regimen_id for o in decision.treatment.options] == expected
    assert decision.treatment.options[0].rule_id.startswith("R9")


def test_emptied_list_gives_referral_and_specialist_review_instead_of_a_regimen(kb):
    facts = (
        FactsBuilder().prior_lines(2)
        .refractory_to("lenalidomide", "bortezomib", "pomalidomide", "carfilzomib", "elotuzumab")
        .build()
    )
    decision = decide(facts, kb)
    assert decision.treatment.row_id == "R4"
    assert decision.treatment.list_emptied and decision.treatment.recommended is None
    assert any("specialist review" in n for n in decision.treatment.notes)
    assert "referral" in {c.topic for c in decision.info_cards}
    assert decision.supportive == ()


def test_the_decision_is_deterministic(kb):
    facts = FactsBuilder().prior_lines(2).refractory_to("lenalidomide").with_finding("heart_failure").build()
    assert decide(facts, kb) == decide(facts, kb)


def test_the_recommended_option_is_flagged_and_alternatives_are_not(kb):
    options = decide(FactsBuilder().build(), kb).treatment.options
    assert [o.recommended for o in options] == [True, False, False, False, False]
    assert options[0].label == "DRd — daratumumab, lenalidomide, dexamethasone"
    assert all(o.kb_version == "2026.1" and o.seeds and o.rule_id for o in options)
