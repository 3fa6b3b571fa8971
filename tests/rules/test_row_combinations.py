"""Independent review of 03 §3–§5 on combinations the public vignettes do not cover: each
expectation below is read from the spec text (rows, hard rules, modifiers, supportive care,
salvage / referral / data-gap rules), not from the service's output."""

from __future__ import annotations

import pytest

from clinical_rules.kb import KnowledgeBase
from clinical_rules.relapse import decide

from .builders import FactsBuilder

PENTA = ("lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab")
CARFILZOMIB_REGIMENS = {"KRd", "DKd", "IsaKd", "KPd", "Kd"}
BORTEZOMIB_REGIMENS = {"DVd", "PVd", "VCd", "XVd", "Vd", "VenVd"}
DOUBLETS = {"Xd", "Kd", "Pd", "Vd", "Rd", "VenD"}


def options(builder: FactsBuilder, kb: KnowledgeBase) -> list[str]:
    decision = decide(builder.build(), kb)
    assert decision.treatment is not None
    return [o.regimen_id for o in decision.treatment.options]


def row_of(builder: FactsBuilder, kb: KnowledgeBase) -> str:
    decision = decide(builder.build(), kb)
    assert decision.treatment is not None
    return decision.treatment.row_id


def topics(builder: FactsBuilder, kb: KnowledgeBase) -> set[str]:
    return {card.topic for card in decide(builder.build(), kb).info_cards}


def groups(builder: FactsBuilder, kb: KnowledgeBase) -> set[str]:
    return {m.group for m in decide(builder.build(), kb).supportive}


# -- R1: Xd label population and VenD -------------------------------------------------------------
def test_r1_in_the_xd_label_population_with_t11_14_keeps_xd_first_and_offers_vend(kb: KnowledgeBase) -> None:
    patient = FactsBuilder().prior_lines(4).refractory_to(*PENTA).cytogenetics(t11_14=True)
    assert options(patient, kb) == ["Xd", "DCEP", "VenD"]
    assert "referral" in topics(patient, kb)


def test_r1_below_four_lines_with_t11_14_gets_dcep_then_vend_without_xd(kb: KnowledgeBase) -> None:
    assert options(FactsBuilder().prior_lines(3).refractory_to(*PENTA).cytogenetics(t11_14=True), kb) == [
        "DCEP", "VenD"]


def test_r1_xd_label_needs_two_refractory_imids(kb: KnowledgeBase) -> None:
    """Penta-refractory by the 02 definition with only lenalidomide among IMiDs is impossible, but a
    label population count must still use refractory drugs only: pomalidomide merely exposed fails."""
    patient = FactsBuilder().prior_lines(5).refractory_to(
        "lenalidomide", "bortezomib", "carfilzomib", "daratumumab").exposed_to("pomalidomide")
    assert row_of(patient, kb) == "R2"
    assert "Xd" not in options(patient, kb)


def test_r1_frail_patient_still_gets_the_r1_doublets(kb: KnowledgeBase) -> None:
    patient = FactsBuilder().prior_lines(4).refractory_to(*PENTA).cytogenetics(t11_14=True).frail()
    assert options(patient, kb) == ["Xd", "DCEP", "VenD"]


def test_r1_without_t11_14_never_offers_venetoclax(kb: KnowledgeBase) -> None:
    assert "VenD" not in options(FactsBuilder().prior_lines(4).refractory_to(*PENTA), kb)


# -- R2: the proteasome inhibitor / pomalidomide a TCR patient is refractory to ------------------------
@pytest.mark.parametrize(
    ("refractory", "expected"),
    [
        (("lenalidomide", "daratumumab", "bortezomib"), ["KPd", "PCd", "EPd"]),
        (("lenalidomide", "daratumumab", "carfilzomib"), ["XVd", "PCd", "EPd"]),
        (("lenalidomide", "daratumumab", "bortezomib", "carfilzomib"), ["PCd", "EPd"]),
        (("lenalidomide", "pomalidomide", "daratumumab", "carfilzomib"), ["XVd"]),
    ],
)
def test_r2_drops_every_regimen_with_a_refractory_drug(kb: KnowledgeBase, refractory: tuple[str, ...],
                                                       expected: list[str]) -> None:
    patient = FactsBuilder().prior_lines(3).refractory_to(*refractory)
    assert row_of(patient, kb) == "R2"
    assert options(patient, kb) == expected


def test_r2_pomalidomide_and_bortezomib_refractory_empties_to_referral_and_review(kb: KnowledgeBase) -> None:
    patient = FactsBuilder().prior_lines(3).refractory_to("pomalidomide", "bortezomib", "daratumumab")
    decision = decide(patient.build(), kb)
    assert decision.treatment is not None and decision.treatment.list_emptied
    assert decision.treatment.options == ()
    referral = next(c for c in decision.info_cards if c.topic == "referral")
    assert any("R2" in reason and "review" in reason.lower() for reason in referral.reasons)
    assert decision.supportive == ()


def test_r2_with_heart_failure_avoids_carfilzomib_first(kb: KnowledgeBase) -> None:
    patient = FactsBuilder().prior_lines(3).refractory_to("lenalidomide", "daratumumab", "bortezomib")
    assert options(patient.with_finding("heart_failure"), kb) == ["PCd", "KPd", "EPd"]


# -- R3–R5 with heart failure and/or peripheral neuropathy ------------------------------------------
R3 = FactsBuilder().prior_lines(2).refractory_to("lenalidomide").exposed_to("daratumumab")
R4 = FactsBuilder().prior_lines(2).refractory_to("lenalidomide", "bortezomib")
R5 = FactsBuilder().refractory_to("lenalidomide")


def _with(builder: FactsBuilder, *findings: str) -> FactsBuilder:
    clone = FactsBuilder()
    clone.__dict__.update({k: (v.copy() if isinstance(v, set | dict | list) else v) for k, v in builder.__dict__.items()})
    for finding in findings:
        clone.with_finding(finding)
    return clone


@pytest.mark.parametrize(
    ("base", "findings", "first"),
    [
        (R3, ("heart_failure",), "PVd"),
        (R3, ("neuropathy",), "KPd"),
        (R3, ("heart_failure", "neuropathy"), "PCd"),
        (R4, ("heart_failure",), "DPd"),
        (R4, ("heart_failure", "neuropathy"), "DPd"),
        (R5, ("heart_failure",), "DVd"),
        (R5, ("neuropathy",), "DPd"),
        (R5, ("heart_failure", "neuropathy"), "DPd"),
    ],
)
def test_modifiers_in_r3_to_r5(kb: KnowledgeBase, base: FactsBuilder, findings: tuple[str, ...], first: str) -> None:
    patient = _with(base, *findings)
    chosen = options(patient, kb)
    assert chosen[0] == first
    if "heart_failure" in findings:
        assert chosen[0] not in CARFILZOMIB_REGIMENS
    if findings == ("neuropathy",):
        assert chosen[0] not in BORTEZOMIB_REGIMENS
    # Regimens passed over stay among the alternatives, in list order.
    unmodified = options(base, kb)
    assert [r for r in chosen if r != first] == [r for r in unmodified if r != first][: len(chosen) - 1]


# -- frail in every row: never a doublet before a surviving triplet ----------------------------------
ROWS = {
    "R3": R3, "R4": R4, "R5": R5,
    "R6": FactsBuilder(), "R7": FactsBuilder().exposed_to("daratumumab"),
    "R8": FactsBuilder().prior_lines(2).refractory_to("bortezomib"),
    "R9": FactsBuilder().prior_lines(2),
}


@pytest.mark.parametrize("row", sorted(ROWS))
def test_frail_patients_get_no_doublet_in_r3_to_r9(kb: KnowledgeBase, row: str) -> None:
    frail = _with(ROWS[row]).frail()
    assert row_of(frail, kb) == row
    chosen = options(frail, kb)
    assert chosen and not set(chosen) & DOUBLETS


@pytest.mark.parametrize(("row", "first"), [("R6", "IRd"), ("R7", "IRd"), ("R9", "IRd")])
def test_frail_lists_of_r6_r7_and_r9(kb: KnowledgeBase, row: str, first: str) -> None:
    assert options(_with(ROWS[row]).frail(), kb)[0] == first


def test_frail_r9_anti_cd38_exposed_uses_the_r7_frail_list(kb: KnowledgeBase) -> None:
    assert options(FactsBuilder().prior_lines(2).exposed_to("daratumumab").frail(), kb) == ["IRd", "ERd", "KRd"]


# -- R8 vs R9 by anti-CD38 exposure ------------------------------------------------------------------
def test_r8_ignores_anti_cd38_exposure_but_h1_removes_daratumumab_when_refractory(kb: KnowledgeBase) -> None:
    exposed = FactsBuilder().prior_lines(2).refractory_to("bortezomib").exposed_to("daratumumab")
    assert (row_of(exposed, kb), options(exposed, kb)) == ("R8", ["DRd", "DPd", "ERd", "EPd"])
    refractory = FactsBuilder().prior_lines(2).refractory_to("bortezomib", "daratumumab")
    assert (row_of(refractory, kb), options(refractory, kb)) == ("R8", ["ERd", "EPd"])


def test_r9_follows_anti_cd38_exposure(kb: KnowledgeBase) -> None:
    assert options(FactsBuilder().prior_lines(3), kb)[0] == "DRd"
    assert options(FactsBuilder().prior_lines(3).exposed_to("isatuximab"), kb)[0] == "KRd"


# -- referral, salvage transplant ----------------------------------------------------------------------
@pytest.mark.parametrize(("lines", "referral"), [(3, False), (4, True), (6, True)])
def test_referral_from_four_prior_lines(kb: KnowledgeBase, lines: int, referral: bool) -> None:
    assert ("referral" in topics(FactsBuilder().prior_lines(lines), kb)) is referral


@pytest.mark.parametrize(
    ("lines", "months", "salvage", "disagree"),
    [
        (1, None, True, False),  # never transplanted
        (2, None, True, False),
        (3, None, False, False),  # L = 3: no card
        (1, 17.9, False, False),
        (1, 18, True, True),
        (2, 30, True, True),
        (1, 36, True, False),
        (3, 48, False, False),
    ],
)
def test_salvage_transplant(kb: KnowledgeBase, lines: int, months: float | None, salvage: bool,
                            disagree: bool) -> None:
    builder = FactsBuilder().prior_lines(lines)
    if months is not None:
        builder.asct(months)
    decision = decide(builder.build(), kb)
    cards = [c for c in decision.info_cards if c.topic == "salvage-transplant"]
    assert bool(cards) is salvage
    if cards:
        assert bool(cards[0].disagreements) is disagree
    assert decision.treatment is not None
    second_asct_note = any("second ASCT" in n or "second autologous" in n.lower() for n in decision.treatment.notes)
    assert second_asct_note is (months is not None and months < 18)


def test_no_salvage_for_a_frail_or_older_patient(kb: KnowledgeBase) -> None:
    assert "salvage-transplant" not in topics(FactsBuilder().frail(), kb)
    assert "salvage-transplant" not in topics(FactsBuilder().age(72), kb)


# -- data gaps -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("builder", "blocks"),
    [
        (FactsBuilder().no_recent_creatinine(), True),  # DRd: lenalidomide
        (FactsBuilder().refractory_to("lenalidomide").no_recent_creatinine(), False),  # DVd
        (FactsBuilder().prior_lines(2).refractory_to("lenalidomide", "bortezomib").no_recent_creatinine(), True),  # DPd
        (FactsBuilder().frail().no_recent_creatinine(), True),  # IRd: ixazomib + lenalidomide
    ],
)
def test_no_creatinine_warns_only_for_a_renally_dosed_recommendation(kb: KnowledgeBase, builder: FactsBuilder,
                                                                     blocks: bool) -> None:
    gaps = {g.code: g for g in decide(builder.build(), kb).data_gaps}
    assert gaps["no-recent-creatinine"].blocks_dosing is blocks


def test_dialysis_without_a_creatinine_is_no_gap(kb: KnowledgeBase) -> None:
    gaps = {g.code for g in decide(FactsBuilder().on_dialysis().build(), kb).data_gaps}
    assert "no-recent-creatinine" not in gaps


def test_possible_progression_is_exactly_one_info_gap(kb: KnowledgeBase) -> None:
    decision = decide(FactsBuilder().possible_progression().build(), kb)
    assert decision.treatment is None and decision.info_cards == () and decision.supportive == ()
    assert [(g.code, g.blocks_dosing) for g in decision.data_gaps] == [("unconfirmed-progression", False)]


@pytest.mark.parametrize("builder", [FactsBuilder().not_at_relapse(), FactsBuilder().new_line_started()])
def test_not_at_relapse_is_silent(kb: KnowledgeBase, builder: FactsBuilder) -> None:
    assert decide(builder.build(), kb).silent


# -- supportive care: equivalents the patient already takes -----------------------------------------
@pytest.mark.parametrize(
    ("builder", "group"),
    [
        (FactsBuilder().currently_taking("rivaroxaban"), "vte-prophylaxis"),
        (FactsBuilder().currently_taking("famciclovir"), "zoster-prophylaxis"),
        (FactsBuilder().prior_lines(4).refractory_to(*PENTA).currently_taking("granisetron"), "antiemetic"),
        (FactsBuilder().prior_lines(3).refractory_to(*PENTA).currently_taking("atovaquone"), "pjp-prophylaxis"),
    ],
)
def test_an_equivalent_current_drug_suppresses_the_measure(kb: KnowledgeBase, builder: FactsBuilder,
                                                           group: str) -> None:
    assert group not in groups(builder, kb)


@pytest.mark.parametrize(
    ("builder", "group"),
    [
        (FactsBuilder(), "vte-prophylaxis"),  # DRd
        (FactsBuilder(), "zoster-prophylaxis"),
        (FactsBuilder().prior_lines(4).refractory_to(*PENTA), "antiemetic"),  # Xd
        (FactsBuilder().prior_lines(3).refractory_to(*PENTA), "pjp-prophylaxis"),  # DCEP
    ],
)
def test_the_measure_is_given_without_an_equivalent(kb: KnowledgeBase, builder: FactsBuilder, group: str) -> None:
    assert group in groups(builder, kb)


@pytest.mark.parametrize(("lvef_days_ago", "wanted"), [(None, True), (30, False), (182, False), (200, True)])
def test_carfilzomib_baseline_only_without_an_lvef_in_six_months(kb: KnowledgeBase, lvef_days_ago: int | None,
                                                                 wanted: bool) -> None:
    builder = FactsBuilder().exposed_to("daratumumab")  # R7: KRd
    if lvef_days_ago is not None:
        builder.lvef(55, lvef_days_ago)
    assert ("cardiac-baseline" in groups(builder, kb)) is wanted


@pytest.mark.parametrize(("exposed", "wanted"), [((), True), (("daratumumab",), False), (("isatuximab",), False)])
def test_type_and_screen_only_for_a_first_anti_cd38(kb: KnowledgeBase, exposed: tuple[str, ...], wanted: bool) -> None:
    builder = FactsBuilder().prior_lines(2).refractory_to("bortezomib").exposed_to(*exposed)  # R8: DRd
    assert options(builder, kb)[0] == "DRd"
    assert ("type-and-screen" in groups(builder, kb)) is wanted


# -- doses at the band edges (03 §5) ----------------------------------------------------------------
@pytest.mark.parametrize(("crcl", "value"), [(30, 4), (29.9, 3), (15, 3), (60, 4)])
def test_ixazomib_reduced_only_below_30(kb: KnowledgeBase, crcl: float, value: float) -> None:
    from clinical_rules.doses import starting_dose

    assert starting_dose("ixazomib", "IRd", FactsBuilder().crcl(crcl).build(), kb).value == value


def test_dialysis_decides_even_with_a_crcl_on_file(kb: KnowledgeBase) -> None:
    from clinical_rules.doses import starting_dose

    facts = FactsBuilder().on_dialysis().crcl(45).build()
    assert [starting_dose(d, r, facts, kb).value for d, r in
            (("lenalidomide", "DRd"), ("pomalidomide", "DPd"), ("ixazomib", "IRd"))] == [5, 3, 3]


@pytest.mark.parametrize(("age", "dex"), [(75, 40), (76, 20)])
def test_recommended_regimen_doses_dexamethasone_by_age(kb: KnowledgeBase, age: int, dex: float) -> None:
    decision = decide(FactsBuilder().age(age).build(), kb)
    assert decision.treatment is not None and decision.treatment.recommended is not None
    doses = {d.drug: d for d in decision.treatment.recommended.doses}
    assert (doses["dexamethasone"].value, doses["dexamethasone"].unit) == (dex, "mg")
