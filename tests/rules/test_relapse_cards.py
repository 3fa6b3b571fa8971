"""Salvage ASCT, referral, aggressive disease, relapse work-up, data gaps and the silent states."""

from __future__ import annotations

import pytest

from clinical_rules.relapse import decide

from .builders import FactsBuilder


def topics(facts, kb) -> set[str]:
    return {c.topic for c in decide(facts, kb).info_cards}


def card(facts, kb, topic):
    return next(c for c in decide(facts, kb).info_cards if c.topic == topic)


# -- silent / partial states ----------------------------------------------------------------------

@pytest.mark.parametrize(("builder", "status"), [
    (FactsBuilder().no_myeloma(), "no-myeloma"),
    (FactsBuilder().not_at_relapse(), "not-at-relapse"),
    (FactsBuilder().new_line_started(), "new-line-started"),
])
def test_silent_states(kb, builder, status):
    decision = decide(builder.build(), kb)
    assert decision.status == status and decision.silent
    assert decision.treatment is None and not decision.info_cards and not decision.data_gaps


def test_possible_progression_gives_one_data_gap_only(kb):
    decision = decide(FactsBuilder().possible_progression().build(), kb)
    assert decision.status == "possible-progression" and not decision.silent
    assert decision.treatment is None and not decision.info_cards and not decision.supportive
    assert [g.code for g in decision.data_gaps] == ["unconfirmed-progression"]
    assert not decision.data_gaps[0].blocks_dosing


# -- salvage transplant ---------------------------------------------------------------------------

def test_salvage_asct_offered_when_never_transplanted(kb):
    assert "salvage-transplant" in topics(FactsBuilder().build(), kb)


@pytest.mark.parametrize(("months", "offered", "disagree"), [(40, True, False), (24, True, True), (13, False, False)])
def test_salvage_asct_by_months_after_the_last_asct(kb, months, offered, disagree):
    facts = FactsBuilder().asct(months).build()
    assert ("salvage-transplant" in topics(facts, kb)) is offered
    if offered:
        salvage = card(facts, kb, "salvage-transplant")
        assert bool(salvage.disagreements) is disagree
        assert salvage.indicator == "info"
    notes = " ".join(decide(facts, kb).treatment.notes)
    assert ("second ASCT is not advised" in notes) is (months < 18)


@pytest.mark.parametrize("builder", [FactsBuilder().prior_lines(3), FactsBuilder().age(71), FactsBuilder().frail()])
def test_no_salvage_after_two_lines_or_when_not_eligible(kb, builder):
    assert "salvage-transplant" not in topics(builder.build(), kb)


# -- referral -------------------------------------------------------------------------------------

@pytest.mark.parametrize("builder", [
    FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "daratumumab", "carfilzomib"),
    FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab"),
    FactsBuilder().prior_lines(4),
])
def test_referral_for_tcr_penta_or_four_lines(kb, builder):
    referral = card(builder.build(), kb, "referral")
    assert referral.links and "BCMA × CD3" in " ".join(referral.reasons)


def test_len_refractory_without_referral_gets_the_cilta_cel_note(kb):
    decision = decide(FactsBuilder().refractory_to("lenalidomide").build(), kb)
    assert "referral" not in {c.topic for c in decision.info_cards}
    assert any("ciltacabtagene autoleucel" in n for n in decision.treatment.notes)


def test_no_cilta_cel_note_when_not_len_refractory(kb):
    assert not any("ciltacabtagene" in n for n in decide(FactsBuilder().build(), kb).treatment.notes)


# -- aggressive disease ---------------------------------------------------------------------------

@pytest.mark.parametrize("finding", ["plasma_cell_leukaemia", "extramedullary"])
def test_aggressive_disease_is_critical_beside_the_treatment(kb, finding):
    decision = decide(FactsBuilder().with_finding(finding).build(), kb)
    aggressive = next(c for c in decision.info_cards if c.topic == "aggressive-disease")
    assert aggressive.indicator == "critical" and "DCEP" in aggressive.reasons[0]
    assert decision.treatment.recommended is not None


# -- work-up --------------------------------------------------------------------------------------

def test_workup_without_cytogenetics_requests_fish_and_imaging(kb):
    workup = card(FactsBuilder().no_cytogenetics().build(), kb, "relapse-workup")
    assert [s.id for s in workup.services] == ["marrow-sampling", "fish-del17p", "fish-1q", "pet-ct"]
    assert "No cytogenetic result" in workup.reasons[0]


def test_workup_with_fish_on_file_never_repeats_primary_translocations(kb):
    workup = card(FactsBuilder().cytogenetics(del17p=True, t4_14=True).build(), kb, "relapse-workup")
    codes = [s.id for s in workup.services]
    assert codes == ["marrow-sampling", "fish-1q", "pet-ct"]  # del(17p) already positive; no t(4;14) retest
    assert "do not repeat primary translocations" in workup.reasons[0]


def test_workup_with_both_progression_markers_positive_only_images(kb):
    workup = card(FactsBuilder().cytogenetics(del17p=True, gain1q=True).build(), kb, "relapse-workup")
    assert [s.id for s in workup.services] == ["pet-ct"]


def test_high_risk_note(kb):
    notes = decide(FactsBuilder().cytogenetics(gain1q=True).build(), kb).treatment.notes
    assert any("no treatment-free interval" in n for n in notes)
    assert not any("treatment-free" in n for n in decide(FactsBuilder().build(), kb).treatment.notes)


# -- data gaps ------------------------------------------------------------------------------------

def test_no_creatinine_blocks_dosing_when_the_regimen_is_renally_dosed(kb):
    decision = decide(FactsBuilder().no_recent_creatinine().build(), kb)  # DRd: lenalidomide
    gap = next(g for g in decision.data_gaps if g.code == "no-recent-creatinine")
    assert gap.blocks_dosing and "lenalidomide" in gap.text
    assert any("Renal function unknown" in n for n in decision.treatment.notes)


def test_no_creatinine_is_info_when_the_regimen_is_not_renally_dosed(kb):
    decision = decide(FactsBuilder().refractory_to("lenalidomide").no_recent_creatinine().build(), kb)  # DVd
    gap = next(g for g in decision.data_gaps if g.code == "no-recent-creatinine")
    assert not gap.blocks_dosing


def test_dialysis_is_known_renal_function(kb):
    assert not decide(FactsBuilder().on_dialysis().build(), kb).data_gaps


def test_fish_unknown_and_lines_uncertain_are_gaps(kb):
    codes = {g.code for g in decide(FactsBuilder().no_cytogenetics().prior_lines(0).build(), kb).data_gaps}
    assert {"no-cytogenetics", "lines-uncertain"} <= codes


def test_complete_record_has_no_gaps(kb):
    assert decide(FactsBuilder().build(), kb).data_gaps == ()


def test_unknown_age_and_ecog_are_gaps(kb):
    codes = {g.code for g in decide(FactsBuilder().ecog(None).override(age=None).build(), kb).data_gaps}
    assert {"no-birth-date", "no-ecog"} <= codes


def test_disagreements_bearing_on_the_patient(kb):
    facts = FactsBuilder().refractory_to("lenalidomide").build()
    maintenance = facts.lines[0].__class__(1, facts.lines[0].start, ("bortezomib", "lenalidomide"), True, ("lenalidomide",), ())
    on_maintenance = FactsBuilder().refractory_to("lenalidomide").override(lines=(maintenance,)).build()
    assert any("S4 calls it lenalidomide-sensitive" in d for d in decide(on_maintenance, kb).disagreements)
    assert any("CASTOR" in d for d in decide(facts, kb).disagreements)  # DVd recommended
    assert decide(FactsBuilder().build(), kb).disagreements == ()
