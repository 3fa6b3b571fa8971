"""Order checks O1–O12 and the 03 §4 triggers, from facts built directly (no FHIR history)."""

from __future__ import annotations

import pytest

from clinical_rules.kb import load_knowledge_base
from clinical_rules.order_checks import OrderFinding, check_orders, selected_drafts
from fhir_mappings.draft_orders import read_draft_orders
from fhir_mappings.facts import Evidence, Finding, PatientFacts

from .builders import (
    BTZ,
    CFZ,
    DARA,
    DEX,
    IXA,
    LEN,
    POM,
    draft,
    exposure,
    facts,
    measurement,
    refractory_to,
    renal,
    t11_14,
    taking,
)

KB = load_knowledge_base()
COVERED = taking("aspirin", "acyclovir")  # prophylaxis already current: isolates the other checks


def run(drafts: list[dict], patient: PatientFacts, selections: list[str] | None = None) -> list[OrderFinding]:
    orders = read_draft_orders({"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]})
    return list(check_orders(orders, selected_drafts(orders, selections), patient, KB))


def ids(findings: list[OrderFinding]) -> list[str]:
    return [f.check_id for f in findings]


def only(findings: list[OrderFinding], check_id: str) -> OrderFinding:
    matching = [f for f in findings if f.check_id == check_id]
    assert len(matching) == 1, ids(findings)
    return matching[0]


def drd(len_dose: float = 25, dex_dose: float = 40) -> list[dict]:
    return [draft("d-dara", DARA, 1800, period_unit="wk", route="SC"),
            draft("d-len", LEN, len_dose, route="PO"),
            draft("d-dex", DEX, dex_dose, period_unit="wk", route="PO")]


def created_drugs(finding: OrderFinding) -> set[str]:
    return {fix.measure.drug for fix in finding.fixes if fix.measure is not None and fix.measure.drug}


# -- O1 --------------------------------------------------------------------------------------------
def test_o1_lenalidomide_refractory_deletes_the_draft_and_names_a_safe_regimen() -> None:
    patient = facts(**COVERED, drug_histories=(refractory_to("lenalidomide"),), lenalidomide_refractory=True,
                    imid_refractory=True)
    findings = run(drd(), patient)
    o1 = only(findings, "O1")
    assert (o1.topic, o1.indicator) == ("contraindication", "critical")
    assert [(f.kind, f.draft.resource_id) for f in o1.fixes] == [("delete", "d-len")]
    assert o1.override_reasons and all(display for _, display in o1.override_reasons)
    assert any(e.reference == "Observation/ds1" for fact in o1.facts_used for e in fact.evidence)
    # The deleted draft is never adjusted (which would re-suggest lenalidomide).
    assert "O6" not in ids(findings)
    assert "lenalidomide" not in o1.fixes[0].label.split("instead:")[-1]


def test_o1_dexamethasone_is_exempt() -> None:
    patient = facts(**COVERED, drug_histories=(refractory_to("dexamethasone"),))
    assert "O1" not in ids(run(drd(), patient))


def test_o1_anti_cd38_refractoriness_excludes_both_antibodies() -> None:
    patient = facts(**COVERED, drug_histories=(refractory_to("daratumumab"),), anti_cd38_exposed=True,
                    anti_cd38_refractory=True)
    drafts = [draft("d-isa", "Sarclisa", 10, "mg/kg", period_unit="wk", route="IV"),
              draft("d-pom", POM, 4), draft("d-dex", DEX, 40, period_unit="wk")]
    o1 = only(run(drafts, patient), "O1")
    assert o1.fixes[0].draft.resource_id == "d-isa"


def test_o1_ixazomib_after_pi_refractory_disease() -> None:
    patient = facts(**COVERED, drug_histories=(refractory_to("bortezomib"),), pi_refractory=True)
    drafts = [draft("d-ixa", IXA, 4, frequency=1, period_unit="wk"), draft("d-len", LEN, 25),
              draft("d-dex", DEX, 40, period_unit="wk")]
    o1 = only(run(drafts, patient), "O1")
    assert o1.fixes[0].draft.resource_id == "d-ixa"


def test_o1_switching_within_class_is_allowed() -> None:
    patient = facts(**COVERED, drug_histories=(refractory_to("lenalidomide"),), lenalidomide_refractory=True)
    drafts = [draft("d-pom", POM, 4), draft("d-btz", BTZ, 1.3, "mg/m2", period_unit="wk", route="SC"),
              draft("d-dex", DEX, 20, period_unit="wk")]
    assert "O1" not in ids(run(drafts, patient))


def test_o1_text_only_brand_is_recognised() -> None:
    patient = facts(**COVERED, drug_histories=(refractory_to("lenalidomide"),), lenalidomide_refractory=True)
    drafts = [draft("d-len", "Revlimid 10 mg capsule", text="10 mg PO daily"), draft("d-dex", DEX, 40, period_unit="wk"),
              draft("d-dara", "Darzalex Faspro", 1800, period_unit="wk")]
    assert only(run(drafts, patient), "O1").fixes[0].draft.resource_id == "d-len"


# -- O2 --------------------------------------------------------------------------------------------
def test_o2_venetoclax_without_t11_14() -> None:
    patient = facts(**COVERED, cytogenetics=(t11_14(False),), cytogenetics_on_file=True)
    drafts = [draft("d-ven", "Venclexta 100 mg tablet", 400), draft("d-btz", BTZ, 1.3, "mg/m2", route="SC"),
              draft("d-dex", DEX, 20, period_unit="wk")]
    o2 = only(run(drafts, patient), "O2")
    assert (o2.topic, o2.indicator) == ("contraindication", "warning")
    assert o2.fixes[0].kind == "delete" and o2.fixes[0].draft.resource_id == "d-ven"
    assert any(e.reference == "Observation/fish" for fact in o2.facts_used for e in fact.evidence)


def test_o2_does_not_fire_with_t11_14_positive() -> None:
    patient = facts(**COVERED, cytogenetics=(t11_14(True),), t11_14_positive=True)
    drafts = [draft("d-ven", "venetoclax", 400), draft("d-btz", BTZ, 1.3, "mg/m2", route="SC"),
              draft("d-dex", DEX, 20, period_unit="wk")]
    assert "O2" not in ids(run(drafts, patient))


# -- O3 / O4 / O5 ----------------------------------------------------------------------------------
def test_o3_o4_missing_prophylaxis_create_aspirin_and_an_antiviral() -> None:
    findings = run(drd(), facts())
    o3, o4 = only(findings, "O3"), only(findings, "O4")
    assert (o3.topic, o3.indicator, created_drugs(o3)) == ("supportive-care", "warning", {"aspirin"})
    assert o4.indicator == "warning" and created_drugs(o4) == {"acyclovir", "valacyclovir"}
    assert o4.alternatives


def test_o3_prior_vte_suggests_lmwh_or_apixaban() -> None:
    patient = facts(**taking("acyclovir"), vte_history=Finding(True, (Evidence("Condition", "dvt"),)))
    assert created_drugs(only(run(drd(), patient), "O3")) == {"enoxaparin", "apixaban"}


def test_o3_not_when_anticoagulated_or_prophylaxis_drafted() -> None:
    assert "O3" not in ids(run(drd(), facts(**taking("apixaban", "acyclovir"))))
    drafted = [*drd(), draft("d-asa", "aspirin 81 mg", 81), draft("d-acv", "valacyclovir", 500, frequency=2)]
    findings = run(drafted, facts())
    assert "O3" not in ids(findings) and "O4" not in ids(findings)


def test_order_select_counts_prophylaxis_drafted_beside_the_selection() -> None:
    drafted = [*drd(), draft("d-asa", "aspirin", 81), draft("d-acv", "acyclovir", 400, frequency=2)]
    findings = run(drafted, facts(), selections=["MedicationRequest/d-len"])
    assert not {"O3", "O4"} & set(ids(findings))


def test_o5_selinexor_without_antiemetic() -> None:
    drafts = [draft("d-sel", "Xpovio 100 mg once weekly", text="100 mg by mouth once weekly"),
              draft("d-btz", BTZ, 1.3, "mg/m2", period_unit="wk", route="SC"), draft("d-dex", DEX, 20, period_unit="wk")]
    o5 = only(run(drafts, facts(**COVERED)), "O5")
    assert (o5.topic, o5.indicator, created_drugs(o5)) == ("supportive-care", "warning", {"ondansetron"})
    drafts.append(draft("d-ond", "Zofran", 8))
    assert "O5" not in ids(run(drafts, facts(**COVERED)))


# -- O6 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("crcl", "dialysis", "expected"), [(45, False, (10, 1.0)), (20, False, (15, 0.5)),
                                                             (10, False, (5, 1.0)), (None, True, (5, 1.0))])
def test_o6_lenalidomide_renal_dose(crcl: float | None, dialysis: bool, expected: tuple[float, float]) -> None:
    findings = run(drd(), facts(**COVERED, renal=renal(crcl, dialysis=dialysis)), selections=["MedicationRequest/d-len"])
    o6 = only(findings, "O6")
    assert (o6.topic, o6.indicator) == ("dose-adjustment", "warning")
    (fix,) = o6.fixes
    dose = fix.change.dose
    per_day = dose.frequency / dose.period * (24 if dose.period_unit == "h" else 1)
    assert (fix.kind, fix.draft.resource_id) == ("update", "d-len")
    assert (dose.value, dose.unit, per_day) == (expected[0], "mg", expected[1])


def test_o6_frequency_above_renal_dose_fires_even_with_a_lower_amount() -> None:
    drafts = [draft("d-len", LEN, 10), draft("d-dex", DEX, 40, period_unit="wk"), draft("d-ixa", IXA, 3, period_unit="wk")]
    assert only(run(drafts, facts(**COVERED, renal=renal(20))), "O6").fixes[0].change.dose.value == 15


def test_o6_dose_only_in_text() -> None:
    drafts = [draft("d-len", "lenalidomide", text="lenalidomide 25 mg PO daily d1-21"),
              draft("d-dex", DEX, 40, period_unit="wk"), draft("d-dara", DARA, 1800, period_unit="wk")]
    assert only(run(drafts, facts(**COVERED, renal=renal(45))), "O6").fixes[0].change.dose.value == 10


def test_o6_silent_at_the_right_dose_or_normal_renal_function() -> None:
    assert "O6" not in ids(run(drd(len_dose=10), facts(**COVERED, renal=renal(45))))
    assert "O6" not in ids(run(drd(), facts(**COVERED, renal=renal(90))))
    # Ixazomib on days 1, 8, 15 (structured weekly) is not "more frequent" than its label schedule.
    drafts = [draft("d-ixa", IXA, 4, period_unit="wk"), draft("d-len", LEN, 25), draft("d-dex", DEX, 40, period_unit="wk")]
    assert "O6" not in ids(run(drafts, facts(**COVERED)))


def test_o6_ixazomib_and_pomalidomide() -> None:
    drafts = [draft("d-ixa", IXA, 4, period_unit="wk"), draft("d-len", LEN, 5), draft("d-dex", DEX, 40, period_unit="wk")]
    o6 = only(run(drafts, facts(**COVERED, renal=renal(20)), selections=["MedicationRequest/d-ixa"]), "O6")
    assert o6.fixes[0].change.dose.value == 3
    drafts = [draft("d-pom", POM, 4), draft("d-dara", DARA, 1800, period_unit="wk"), draft("d-dex", DEX, 40, period_unit="wk")]
    o6 = only(run(drafts, facts(**COVERED, renal=renal(None, dialysis=True))), "O6")
    assert (o6.fixes[0].draft.resource_id, o6.fixes[0].change.dose.value) == ("d-pom", 3)


# -- O7 --------------------------------------------------------------------------------------------
def test_o7_dexamethasone_40_weekly_over_75() -> None:
    o7 = only(run(drd(len_dose=25), facts(**COVERED, age=79)), "O7")
    assert (o7.topic, o7.indicator) == ("dose-adjustment", "info")
    assert o7.fixes[0].change.dose.value == 20 and o7.fixes[0].change.amount_only


def test_o7_silent_at_75_or_with_20_mg_or_daily_pulses() -> None:
    assert "O7" not in ids(run(drd(), facts(**COVERED, age=75)))
    assert "O7" not in ids(run(drd(dex_dose=20), facts(**COVERED, age=80)))
    pulses = [draft("d-dex", DEX, 40, text="40 mg daily on days 1-4"), draft("d-cyc", "cyclophosphamide", 400, "mg/m2"),
              draft("d-eto", "etoposide", 40, "mg/m2"), draft("d-cis", "cisplatin", 10, "mg/m2")]
    assert "O7" not in ids(run(pulses, facts(**taking("sulfamethoxazole-trimethoprim"), age=78)))


# -- O8 / O9 ---------------------------------------------------------------------------------------
def test_o8_carfilzomib_with_low_ejection_fraction() -> None:
    lvef = measurement(30, "%", rid="echo")
    patient = facts(**COVERED, heart_failure=Finding(True, (lvef.evidence,)), lvef_percent=lvef)
    drafts = [draft("d-cfz", CFZ, 56, "mg/m2", frequency=2, period_unit="wk", route="IV"),
              draft("d-pom", POM, 4), draft("d-dex", DEX, 40, period_unit="wk")]
    o8 = only(run(drafts, patient), "O8")
    assert (o8.topic, o8.indicator, o8.fixes) == ("contraindication", "warning", ())
    assert "30" in o8.summary and o8.override_reasons
    assert "O8" not in ids(run(drafts, facts(**COVERED, lvef_percent=measurement(55, "%"))))


def test_o9_iv_bortezomib_with_neuropathy_updates_route() -> None:
    patient = facts(**COVERED, neuropathy=Finding(True, (Evidence("Condition", "pn"),)))
    drafts = [draft("d-btz", BTZ, 1.3, "mg/m2", period_unit="wk", route="IV"), draft("d-pom", POM, 4),
              draft("d-dex", DEX, 20, period_unit="wk")]
    o9 = only(run(drafts, patient), "O9")
    assert (o9.topic, o9.indicator) == ("dose-adjustment", "warning")
    assert o9.fixes[0].change.route == "subcutaneous" and o9.fixes[0].draft.resource_id == "d-btz"
    drafts[0] = draft("d-btz", BTZ, 1.3, "mg/m2", period_unit="wk", text="1.3 mg/m2 subcutaneously weekly")
    assert "O9" not in ids(run(drafts, patient))
    assert "O9" not in ids(run([draft("d-btz", BTZ, 1.3, "mg/m2", route="IV"), *drafts[1:]], facts(**COVERED)))


# -- O10 / O11 / O12 -------------------------------------------------------------------------------
def test_o10_o11_ixazomib_dexamethasone_for_a_fit_patient() -> None:
    drafts = [draft("d-ixa", IXA, 4, period_unit="wk"), draft("d-dex", DEX, 40, period_unit="wk")]
    findings = run(drafts, facts(**COVERED), selections=["MedicationRequest/d-ixa"])
    o10, o11 = only(findings, "O10"), only(findings, "O11")
    assert (o10.topic, o10.indicator) == ("regimen-intensity", "info") and o10.links
    assert (o11.topic, o11.indicator, o11.fixes) == ("contraindication", "info", ())


def test_o10_not_for_frail_or_triplets_and_triplets_exclude_refractory_drugs() -> None:
    drafts = [draft("d-pom", POM, 4), draft("d-dex", DEX, 40, period_unit="wk")]
    assert "O10" not in ids(run(drafts, facts(**COVERED, frail=True, ecog=measurement(2, "{score}"))))
    assert "O10" not in ids(run(drd(), facts(**COVERED)))
    patient = facts(**COVERED, drug_histories=(refractory_to("lenalidomide"),), lenalidomide_refractory=True)
    o10 = only(run(drafts, patient), "O10")
    assert not any("lenalidomide" in reason for reason in o10.reasons if reason.startswith("Triplet options"))


def test_o11_not_with_lenalidomide_drafted() -> None:
    drafts = [draft("d-ixa", IXA, 4, period_unit="wk"), draft("d-len", LEN, 25), draft("d-dex", DEX, 40, period_unit="wk")]
    assert "O11" not in ids(run(drafts, facts(**COVERED)))


def test_o12_withdrawn_product_coded() -> None:
    drafts = [draft("d-mel", {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "2531369",
                                          "display": "melphalan flufenamide"}], "text": "Pepaxto 40 mg"}, 40, route="IV"),
              draft("d-dex", DEX, 20, period_unit="wk")]
    findings = run(drafts, facts(**COVERED, frail=True))
    o12 = only(findings, "O12")
    assert (o12.topic, o12.indicator, o12.fixes[0].kind) == ("contraindication", "warning", "delete")
    assert ids(findings) == ["O12"]


# -- 03 §4 triggers ------------------------------------------------------------------------------
def test_first_anti_cd38_asks_for_type_and_screen_but_not_after_exposure() -> None:
    findings = run(drd(), facts(**COVERED))
    s4 = [f for f in findings if f.check_id == "S4"]
    assert [f.fixes[0].measure.group for f in s4] == ["type-and-screen"]
    assert s4[0].topic == "supportive-care"
    exposed = facts(exposures=(*COVERED["exposures"], exposure("daratumumab", 900, 600)), anti_cd38_exposed=True)
    assert "S4" not in ids(run(drd(), exposed))


def test_carfilzomib_without_recent_lvef_asks_for_echo_and_ecg() -> None:
    drafts = [draft("d-cfz", CFZ, 56, "mg/m2", route="IV"), draft("d-pom", POM, 4), draft("d-dex", DEX, 40, period_unit="wk")]
    (s4,) = [f for f in run(drafts, facts(**COVERED)) if f.check_id == "S4"]
    assert {fix.measure.service.code for fix in s4.fixes} == {"40701008", "29303009"}
    assert not s4.alternatives


def test_dcep_asks_for_pjp_prophylaxis() -> None:
    drafts = [draft("d-dex", DEX, 40, text="40 mg daily on days 1-4"), draft("d-cyc", "cyclophosphamide", 400, "mg/m2"),
              draft("d-eto", "etoposide", 40, "mg/m2"), draft("d-cis", "cisplatin", 10, "mg/m2")]
    findings = run(drafts, facts(**COVERED))
    assert ids(findings) == ["S4"]
    assert created_drugs(findings[0]) == {"sulfamethoxazole-trimethoprim"}


# -- order-select, empty answers, the refractory guarantee ----------------------------------------
def test_order_select_judges_only_the_selection() -> None:
    drafts = [draft("d-ixa", IXA, 4, period_unit="wk"), draft("d-len", LEN, 25), draft("d-dex", DEX, 40, period_unit="wk")]
    findings = run(drafts, facts(**COVERED, renal=renal(20), age=80, frail=True), selections=["MedicationRequest/d-len"])
    assert ids(findings) == ["O6"]


def test_no_finding_gives_nothing() -> None:
    on_daratumumab = (*COVERED["exposures"], exposure("daratumumab", 30))
    assert run(drd(len_dose=25), facts(exposures=on_daratumumab, anti_cd38_exposed=True)) == []
    assert run([], facts()) == []


def test_no_suggestion_ever_orders_a_drug_the_patient_is_refractory_to() -> None:
    refractory = ("lenalidomide", "bortezomib", "daratumumab")
    patient = facts(drug_histories=tuple(refractory_to(d) for d in refractory), lenalidomide_refractory=True,
                    imid_refractory=True, pi_refractory=True, anti_cd38_exposed=True, anti_cd38_refractory=True,
                    triple_class_refractory=True, renal=renal(20), age=80, neuropathy=Finding(True),
                    prior_lines=3)
    drafts = [*drd(), draft("d-btz", BTZ, 1.3, "mg/m2", route="IV"), draft("d-isa", "isatuximab", 10, "mg/kg"),
              draft("d-ixa", IXA, 4, period_unit="wk")]
    findings = run(drafts, patient)
    excluded = {"lenalidomide", "bortezomib", "daratumumab", "isatuximab", "ixazomib"}
    for finding in findings:
        for fix in finding.fixes:
            if fix.kind == "update":
                assert not set(fix.draft.generics) & excluded, finding.check_id
            if fix.measure is not None:
                assert fix.measure.drug not in excluded
        assert not any(name in reason for reason in finding.reasons if reason.startswith("Triplet options")
                       for name in excluded)
    deleted = {fix.draft.resource_id for f in findings for fix in f.fixes if fix.kind == "delete"}
    assert deleted == {"d-len", "d-dara", "d-btz", "d-isa", "d-ixa"}


def test_o3_aspirin_drafted_counts_as_vte_prophylaxis_even_with_prior_vte() -> None:
    prior_vte = Finding(True, (Evidence("Condition", "dvt"),))
    drafted = [*drd(), draft("d-asa", "aspirin", 81)]
    assert "O3" not in ids(run(drafted, facts(**taking("acyclovir"), vte_history=prior_vte)))
    assert "O3" not in ids(run(drd(), facts(**taking("acyclovir", "aspirin"), vte_history=prior_vte)))


def test_knowledge_base_order_checks_are_complete() -> None:
    checks = KB.data["order_checks"]
    assert {f"O{i}" for i in range(1, 13)} | {"S4"} == set(checks)
    table = KB.data["override_reasons"]
    for check_id, config in checks.items():
        assert config["override_reasons"], check_id
        assert set(config["override_reasons"]) <= set(table), check_id
        assert config["topic"] in {"contraindication", "supportive-care", "dose-adjustment", "regimen-intensity"}
        assert set(config["seeds"]) <= set(KB.data["sources"]), check_id


def test_o12_not_for_plain_melphalan_but_for_panobinostat_by_brand_text() -> None:
    dex = draft("d-dex", DEX, 20, period_unit="wk")
    frail = facts(**COVERED, frail=True)
    assert "O12" not in ids(run([draft("d-mel", "Alkeran 2 mg tablet", 6), dex], frail))
    o12 = only(run([draft("d-pano", "Farydak 20 mg capsule", 20), dex], frail), "O12")
    assert o12.fixes[0].draft.resource_id == "d-pano"
