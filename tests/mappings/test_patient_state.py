"""Patient state (02 §2.8): renal function, cardiac, neuropathy, VTE, ECOG, proxies, body size, IgG,
and the diagnosis findings of 02 §2.1."""

from __future__ import annotations

from datetime import date

import pytest
from mapping_builders import (
    EVAL,
    PATIENT_ID,
    condition,
    creatinine,
    ecog,
    egfr,
    facts_for,
    height,
    igg,
    lvef,
    myeloma,
    observation,
    plasma_cells,
    weight,
)

from fhir_mappings import ResourceIndex, build_facts


def facts_with_patient(*resources, birth: str = "1955-01-10", gender: str = "female"):
    index = ResourceIndex(PATIENT_ID)
    index.add({"resourceType": "Patient", "id": PATIENT_ID, "birthDate": birth, "gender": gender})
    index.add_any(list(resources))
    return build_facts(index, PATIENT_ID, EVAL)


def test_age_in_completed_years_at_evaluation_date():
    assert facts_with_patient(birth="1950-06-02").age == 74
    assert facts_with_patient(birth="1950-06-01").age == 75


def test_cockcroft_gault_female():
    facts = facts_with_patient(creatinine(1.0, "mg/dL", -10), weight(70, "kg", -10))  # age 70
    assert facts.renal.method == "cockcroft-gault"
    assert facts.renal.crcl_ml_min == pytest.approx((140 - 70) * 70 * 0.85 / 72, abs=0.1)


@pytest.mark.parametrize(("value", "unit"), [(1.0, "mg/dL"), (88.4, "umol/L"), (88.4, "µmol/L")])
def test_creatinine_units(value, unit):
    facts = facts_with_patient(creatinine(value, unit, -10), weight(70, "kg", -10), gender="male")
    measured = facts.renal.creatinine_mg_dl
    assert measured is not None and measured.value == pytest.approx(1.0) and measured.unit == "mg/dL"
    assert measured.evidence.resource_type == "Observation" and measured.evidence.unit == "mg/dL"
    assert measured.evidence.date == date.fromisoformat("2025-05-22") and "creatinine 1 mg/dL" in measured.evidence.text
    assert facts.renal.crcl_ml_min == pytest.approx(70 * 70 / 72, abs=0.1)


@pytest.mark.parametrize(("value", "unit"), [(70, "kg"), (70000, "g"), (154.32, "[lb_av]")])
def test_weight_units(value, unit):
    facts = facts_with_patient(creatinine(1.0, "mg/dL", -10), weight(value, unit, -10))
    assert facts.weight_kg is not None and facts.weight_kg.value == pytest.approx(70, abs=0.01)


def test_old_creatinine_means_renal_unknown():
    facts = facts_with_patient(creatinine(1.0, "mg/dL", -150), weight(70, "kg", -10))
    assert not facts.renal.known and facts.renal.crcl_ml_min is None
    assert any(n.code == "no-recent-creatinine" for n in facts.notes)


def test_renal_unknown_keeps_the_last_value_at_any_date():
    """The data gap says how old the renal data are (D36): the latest creatinine, eGFR or measured
    CrCl at any date, the newest winning across kinds."""
    facts = facts_with_patient(creatinine(1.4, "mg/dL", -150), creatinine(1.0, "mg/dL", -400), egfr(50, -200),
                               weight(70, "kg", -10))
    assert facts.renal.last_kind == "creatinine" and facts.renal.last_value.value == pytest.approx(1.4)
    assert facts.renal.last_value.date == EVAL.fromordinal(EVAL.toordinal() - 150)
    assert facts_with_patient(egfr(50, -120), creatinine(1.0, "mg/dL", -300)).renal.last_kind == "egfr"
    unknown = facts_with_patient(weight(70, "kg", -10)).renal
    assert unknown.last_value is None and unknown.last_kind is None


def test_known_renal_function_keeps_no_last_value():
    assert facts_with_patient(creatinine(1.0, "mg/dL", -10), weight(70, "kg", -10)).renal.last_value is None


def test_an_unusable_old_creatinine_is_noted_once():
    facts = facts_with_patient(creatinine(1.0, "furlongs", -20), weight(70, "kg", -10))
    assert not facts.renal.known  # the recent window and the any-date look-up both read it
    assert [n.code for n in facts.notes].count("unknown-unit") == 1


def test_egfr_fallback_without_weight():
    facts = facts_with_patient(creatinine(1.0, "mg/dL", -10), egfr(48, -10))
    assert facts.renal.method == "egfr" and facts.renal.crcl_ml_min == 48
    assert any("weight" in note for note in facts.renal.notes)


def test_old_egfr_does_not_count():
    facts = facts_with_patient(egfr(48, -120))
    assert facts.renal.crcl_ml_min is None


def test_measured_crcl_fallback():
    facts = facts_with_patient(observation("35591-7", -5, value=52, unit="mL/min"))
    assert facts.renal.method == "measured-crcl" and facts.renal.crcl_ml_min == 52


def test_dialysis_by_code_and_text():
    assert facts_with_patient(condition(icd="Z99.2")).renal.dialysis
    on_haemodialysis = facts_with_patient(condition(text="Haemodialysis dependence"))
    assert on_haemodialysis.renal.dialysis and on_haemodialysis.renal.known


def test_missing_unit_value_is_ignored_with_note():
    facts = facts_with_patient(creatinine(1.0, "mg/dL", -20), observation("2160-0", -5, value=3.0),
                               weight(70, "kg", -10))
    assert facts.renal.creatinine_mg_dl is not None and facts.renal.creatinine_mg_dl.value == 1.0
    assert any(n.code == "missing-unit" for n in facts.notes)


def test_heart_failure_condition_or_low_lvef():
    assert facts_for(condition(icd="I50.22")).heart_failure.present
    low = facts_for(lvef(55, -400), lvef(35, -30))
    assert low.heart_failure.present and low.lvef_percent is not None and low.lvef_percent.value == 35
    recovered = facts_for(lvef(35, -400), lvef(55, -30))
    assert not recovered.heart_failure.present


def test_neuropathy_and_vte_history():
    facts = facts_for(condition(icd="G62.9"), condition(icd="Z86.718", clinical_status="resolved"))
    assert facts.neuropathy.present and facts.vte_history.present
    assert not facts_for(condition(text="Deep vein thrombosis", verification="refuted")).vte_history.present


def test_ecog_integer_and_coded():
    assert facts_for(ecog(2, -10)).ecog.value == 2  # type: ignore[union-attr]
    coded = observation("89247-1", -5, valueCodeableConcept={"coding": [{"system": "http://loinc.org", "code": "LA9623-5"}]})
    assert facts_for(coded).ecog.value == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(("birth", "grade", "frail", "eligible"), [
    ("1960-01-01", 1, False, True),
    ("1960-01-01", None, False, True),
    ("1960-01-01", 2, True, False),
    ("1950-01-01", 0, False, False),  # 75: too old for the proxy
    ("1940-01-01", 0, True, False),  # 85: frail by age
])
def test_frailty_and_transplant_eligibility_proxies(birth, grade, frail, eligible):
    resources = [ecog(grade, -10)] if grade is not None else []
    facts = facts_with_patient(*resources, birth=birth)
    assert (facts.frail, facts.transplant_eligible) == (frail, eligible)


def test_bsa_mosteller_with_height_units():
    for h, unit in ((170, "cm"), (1.70, "m"), (66.93, "[in_i]")):
        facts = facts_for(height(h, unit, -700), weight(70, "kg", -10))
        assert facts.bsa_m2 == pytest.approx(((170 * 70) / 3600) ** 0.5, abs=0.01)


def test_bsa_needs_recent_weight():
    assert facts_for(height(170, "cm", -700), weight(70, "kg", -200)).bsa_m2 is None


def test_igg_normalised_to_mg_dl():
    assert facts_for(igg(4.5, "g/L", -10)).igg_mg_dl.value == pytest.approx(450)  # type: ignore[union-attr]


def test_diagnosis_findings():
    assert facts_for(condition(snomed="109989006")).myeloma.present
    assert facts_for(condition(text="Plasma cell myeloma")).myeloma.present
    assert not facts_for(condition(text="MGUS")).myeloma.present
    assert facts_for(myeloma(), condition(icd="C90.10")).plasma_cell_leukaemia.present
    assert facts_for(myeloma(), condition(icd="C90.20")).extramedullary.present
    assert facts_for(myeloma(), condition(text="Extramedullary plasmacytoma of chest wall")).extramedullary.present


def test_pcl_from_latest_circulating_plasma_cells_within_90_days():
    assert facts_for(myeloma(), plasma_cells(14, -20)).plasma_cell_leukaemia.present
    assert not facts_for(myeloma(), plasma_cells(6, -80), plasma_cells(2, -9)).plasma_cell_leukaemia.present
    assert not facts_for(myeloma(), plasma_cells(14, -120)).plasma_cell_leukaemia.present


def test_evaluation_date_is_injected():
    index = ResourceIndex(PATIENT_ID)
    index.add_any([myeloma(), creatinine(1.0, "mg/dL", -10), weight(70, "kg", -10)])
    assert build_facts(index, PATIENT_ID, EVAL).renal.creatinine_mg_dl is not None
    assert build_facts(index, PATIENT_ID, date(2026, 6, 1)).renal.creatinine_mg_dl is None


def test_condition_text_that_denies_the_disease_does_not_count():
    assert not facts_for(condition(text="Family history of multiple myeloma")).myeloma.present
    assert not facts_for(condition(text="No history of DVT")).vte_history.present
    assert facts_for(condition(text="History of DVT, left leg")).vte_history.present


def test_notes_carry_no_clinical_values():
    from mapping_builders import m_protein_series

    facts = facts_with_patient(myeloma(), egfr(47.5, -10), *m_protein_series({-150: 0.35, -9: 1.15}))
    assert facts.possible_progression is not None and facts.renal.method == "egfr"
    texts = " ".join(n.text for n in facts.notes)
    assert "47.5" not in texts and "1.15" not in texts and "0.35" not in texts
    assert {"possible-progression", "renal-fallback"} <= {n.code for n in facts.notes}
