"""The derivation parameters are the values in force: changing one changes the facts."""

from __future__ import annotations

import pytest
from mapping_builders import (
    LENALIDOMIDE,
    creatinine,
    disease_status,
    ecog,
    facts_for,
    lvef,
    medication_statement,
    myeloma,
    patient,
    plasma_cells,
    weight,
)

from fhir_mappings import DEFAULT_PARAMETERS, DerivationParameters


def test_defaults_are_the_data_contract_values():
    p = DEFAULT_PARAMETERS
    assert (p.refractory_window_days, p.creatinine_recent_days, p.event_merge_window_days) == (60, 90, 30)
    assert (p.frail_min_ecog, p.frail_min_age, p.transplant_max_age, p.heart_failure_lvef_below) == (2, 80, 70, 40.0)


def test_refractory_window_takes_effect():
    resources = (myeloma(), medication_statement(LENALIDOMIDE, -400, -100), disease_status(-45))  # 55 days after
    assert facts_for(*resources).is_refractory("lenalidomide")
    narrow = DerivationParameters(refractory_window_days=7)
    assert not facts_for(*resources, params=narrow).is_refractory("lenalidomide")


def test_recency_window_takes_effect():
    resources = (myeloma(), creatinine(1.0, "mg/dL", -120), weight(70, "kg", -120), disease_status(-10))
    assert not facts_for(*resources).renal.known
    wide = DerivationParameters(creatinine_recent_days=180, weight_recent_days=180)
    assert facts_for(*resources, params=wide).renal.known


def test_thresholds_take_effect():
    resources = (myeloma(), ecog(1, -10), lvef(45, -10), plasma_cells(3, -10))
    default = facts_for(*resources)
    assert not default.frail and not default.heart_failure.present and not default.plasma_cell_leukaemia.present
    strict = DerivationParameters(frail_min_ecog=1, heart_failure_lvef_below=50, pcl_plasma_cell_percent=2)
    changed = facts_for(*resources, params=strict)
    assert changed.frail and changed.heart_failure.present and changed.plasma_cell_leukaemia.present


def test_transplant_age_takes_effect():
    resources = (patient(birth="1950-01-15"), myeloma())
    assert not facts_for(*resources, with_patient=False).transplant_eligible
    assert facts_for(*resources, with_patient=False, params=DerivationParameters(transplant_max_age=80)).transplant_eligible


def test_unknown_parameter_is_refused():
    with pytest.raises(ValueError, match="refractory_windw_days"):
        DerivationParameters.from_mapping({"refractory_windw_days": 7})
    assert DerivationParameters.from_mapping({"high_risk_abnormalities": ["del17p"]}).high_risk_abnormalities == ("del17p",)


def test_response_measurements_on_file():
    from mapping_builders import serum_m_protein

    assert not facts_for(myeloma(), disease_status(-10)).response_measurements_on_file
    assert facts_for(myeloma(), serum_m_protein(1.2, "g/dL", -30)).response_measurements_on_file
