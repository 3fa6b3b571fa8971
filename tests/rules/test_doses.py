"""Starting doses (03 §5): renal bands, dialysis, neuropathy, age, BSA / weight totals."""

from __future__ import annotations

import pytest

from clinical_rules.doses import UnknownDrugDose, starting_dose

from .builders import FactsBuilder


@pytest.mark.parametrize(
    ("crcl", "value", "frequency", "period", "period_unit"),
    [
        (80, 25, 1, 1, "d"),
        (60, 25, 1, 1, "d"),
        (59, 10, 1, 1, "d"),
        (30, 10, 1, 1, "d"),
        (29.5, 15, 1, 48, "h"),
        (15, 15, 1, 48, "h"),
        (14, 5, 1, 1, "d"),
    ],
)
def test_lenalidomide_crcl_bands(kb, crcl, value, frequency, period, period_unit):
    dose = starting_dose("lenalidomide", "DRd", FactsBuilder().crcl(crcl).build(), kb)
    assert (dose.value, dose.unit, dose.frequency, dose.period, dose.period_unit) == (
        value, "mg", frequency, period, period_unit)
    assert "days 1–21 of each 28-day cycle" in dose.text
    assert dose.rxnorm == "342369"


def test_lenalidomide_on_dialysis_5_mg_after_dialysis(kb):
    dose = starting_dose("lenalidomide", "DRd", FactsBuilder().on_dialysis().build(), kb)
    assert dose.value == 5 and "after dialysis" in dose.text
    assert dose.adjustments


def test_pomalidomide_dialysis_3_mg_but_full_dose_at_low_crcl(kb):
    assert starting_dose("pomalidomide", "DPd", FactsBuilder().on_dialysis().build(), kb).value == 3
    assert starting_dose("pomalidomide", "DPd", FactsBuilder().crcl(20).build(), kb).value == 4


@pytest.mark.parametrize(("builder", "value"), [
    (FactsBuilder().crcl(45), 4), (FactsBuilder().crcl(29), 3), (FactsBuilder().on_dialysis(), 3)])
def test_ixazomib_renal(kb, builder, value):
    dose = starting_dose("ixazomib", "IRd", builder.build(), kb)
    assert dose.value == value and (dose.frequency, dose.period, dose.period_unit) == (3, 28, "d")


def test_unknown_renal_function_keeps_the_standard_dose_and_says_so(kb):
    dose = starting_dose("lenalidomide", "DRd", FactsBuilder().no_recent_creatinine().build(), kb)
    assert dose.value == 25
    assert "renal function unknown" in dose.text


@pytest.mark.parametrize(("age", "value"), [(75, 40), (76, 20), (78, 20)])
def test_dexamethasone_weekly_halved_over_75(kb, age, value):
    dose = starting_dose("dexamethasone", "DRd", FactsBuilder().age(age).build(), kb)
    assert (dose.value, dose.frequency, dose.period, dose.period_unit) == (value, 1, 1, "wk")


def test_dexamethasone_follows_the_label_schedule_in_dvd(kb):
    dose = starting_dose("dexamethasone", "DVd", FactsBuilder().build(), kb)
    assert dose.value == 20 and dose.frequency == 8 and dose.period == 21


def test_bortezomib_per_m2_with_bsa_total_and_weekly_with_neuropathy(kb):
    facts = FactsBuilder().body(180, 81).build()  # BSA 2.01 m²
    dose = starting_dose("bortezomib", "DVd", facts, kb)
    assert (dose.value, dose.unit, dose.route) == (1.3, "mg/m2", "subcutaneous")
    assert dose.total_mg == pytest.approx(2.6, abs=0.05) and "BSA 2.01" in dose.text
    weekly = starting_dose("bortezomib", "DVd", FactsBuilder().with_finding("neuropathy").build(), kb)
    assert (weekly.frequency, weekly.period, weekly.period_unit, weekly.route) == (1, 1, "wk", "subcutaneous")


def test_carfilzomib_bsa_capped_at_2_2(kb):
    big = FactsBuilder().body(200, 130).build()  # BSA 2.69 m²
    dose = starting_dose("carfilzomib", "KRd", big, kb)
    assert dose.value == 20 and dose.unit == "mg/m2"
    assert dose.total_mg == pytest.approx(44.0)
    assert "capped at 2.2" in dose.text and "27 mg/m²" in dose.text


def test_mg_per_kg_total_from_weight_and_missing_body_size_said(kb):
    dose = starting_dose("isatuximab", "IsaPd", FactsBuilder().body(170, 70).build(), kb)
    assert (dose.value, dose.unit, dose.total_mg) == (10, "mg/kg", 700)
    unknown = starting_dose("bortezomib", "DVd", FactsBuilder().body(None, None).build(), kb)
    assert unknown.total_mg is None and "height/weight not on file" in unknown.text


@pytest.mark.parametrize(("drug", "regimen", "value", "unit"), [
    ("daratumumab", "DRd", 1800, "mg"), ("elotuzumab", "ERd", 10, "mg/kg"), ("selinexor", "XVd", 100, "mg"),
    ("selinexor", "Xd", 80, "mg"), ("cyclophosphamide", "PCd", 400, "mg"), ("cyclophosphamide", "DCEP", 400, "mg/m2"),
    ("etoposide", "DCEP", 40, "mg/m2"), ("cisplatin", "DCEP", 10, "mg/m2"), ("dexamethasone", "DCEP", 40, "mg"),
])
def test_label_doses(kb, drug, regimen, value, unit):
    dose = starting_dose(drug, regimen, FactsBuilder().build(), kb)
    assert (dose.value, dose.unit) == (value, unit)
    assert dose.seeds and dose.kb_version == kb.version


def test_unknown_drug_raises(kb):
    with pytest.raises(UnknownDrugDose):
        starting_dose("aspirin-like", None, FactsBuilder().build(), kb)
