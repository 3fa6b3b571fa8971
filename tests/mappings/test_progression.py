"""Dated progression events (02 §2.4)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from mapping_builders import (
    DEXAMETHASONE,
    EVAL,
    LENALIDOMIDE,
    condition,
    disease_status,
    facts_for,
    free_kappa,
    free_lambda,
    m_protein_series,
    medication_statement,
    myeloma,
    serum_m_protein,
    urine_m_protein,
)


def on(offset: int) -> date:
    return EVAL + timedelta(days=offset)


def test_confirmed_serum_rise_is_dated_at_first_qualifying_value():
    facts = facts_for(myeloma(), *m_protein_series({-200: 2.0, -150: 0.3, -100: 0.4, -60: 0.9, -30: 1.3}))
    (event,) = facts.progression_events
    assert event.date == on(-60) and event.kinds == ("imwg-serum",)
    assert "0.9 g/dL from nadir 0.3 g/dL" in event.description
    assert {e.value for e in event.evidence} >= {0.9, 1.3, 0.3}


def test_single_qualifying_value_is_only_possible_progression():
    facts = facts_for(myeloma(), *m_protein_series({-150: 0.3, -100: 0.4, -9: 1.0}))
    assert facts.progression_events == ()
    assert facts.possible_progression is not None and facts.possible_progression.date == on(-9)
    assert not facts.at_relapse


def test_qualifying_value_followed_by_non_qualifying_is_not_confirmed():
    facts = facts_for(myeloma(), *m_protein_series({-150: 0.3, -100: 0.9, -60: 0.5, -30: 0.6}))
    assert facts.progression_events == () and facts.possible_progression is None


def test_absolute_threshold_of_half_gram():
    facts = facts_for(myeloma(), *m_protein_series({-150: 0.3, -100: 0.7, -60: 0.75}))
    assert facts.progression_events == ()  # +0.4 and +0.45 g/dL: below 0.5


def test_high_nadir_needs_one_gram():
    rising = facts_for(myeloma(), *m_protein_series({-150: 5.0, -100: 6.3, -60: 6.5}))
    assert len(rising.progression_events) == 1
    short = facts_for(myeloma(), *m_protein_series({-150: 5.0, -100: 5.8, -60: 5.9}))
    assert short.progression_events == ()  # +0.9 g/dL over a nadir >= 5


@pytest.mark.parametrize(("unit", "scale"), [("g/dL", 1.0), ("g/L", 10.0), ("mg/dL", 1000.0)])
def test_m_protein_units_are_normalised(unit, scale):
    values = {-150: 0.3, -60: 0.9, -30: 1.3}
    facts = facts_for(myeloma(), *m_protein_series({d: v * scale for d, v in values.items()}, unit))
    (event,) = facts.progression_events
    assert event.date == on(-60) and "0.9 g/dL from nadir 0.3 g/dL" in event.description


def test_nadir_resets_after_each_progression():
    # Event 1 at day -400; then a new nadir of 0.8 and a second confirmed rise from it.
    series = {-500: 0.2, -400: 0.9, -370: 1.2, -300: 0.8, -100: 1.4, -70: 1.6}
    facts = facts_for(myeloma(), *m_protein_series(series))
    assert [e.date for e in facts.progression_events] == [on(-400), on(-100)]
    assert "from nadir 0.8 g/dL" in facts.progression_events[-1].description


def test_preliminary_results_are_not_used_for_imwg():
    resources = [serum_m_protein(0.3, "g/dL", -150), serum_m_protein(0.9, "g/dL", -60, status="preliminary"),
                 serum_m_protein(1.3, "g/dL", -30)]
    facts = facts_for(myeloma(), *resources)
    assert facts.progression_events == ()


def test_urine_m_protein_rise():
    resources = [urine_m_protein(v, u, d) for d, v, u in ((-150, 100, "mg/24h"), (-60, 0.4, "g/(24.h)"), (-30, 500, "mg/(24.h)"))]
    (event,) = facts_for(myeloma(), *resources).progression_events
    assert event.kinds == ("imwg-urine",) and event.date == on(-60)


def flc(day: int, kappa: float, lambda_: float, unit: str = "mg/L"):
    return [free_kappa(kappa, unit, day), free_lambda(lambda_, unit, day)]


def test_flc_rise_used_when_m_protein_not_measurable():
    resources = [*flc(-200, 75, 10), *flc(-100, 22, 1.2, "mg/dL"), *flc(-40, 28, 1.0, "mg/dL"),
                 serum_m_protein(0.2, "g/dL", -100)]
    (event,) = facts_for(myeloma(), *resources).progression_events
    assert event.kinds == ("imwg-flc",) and event.date == on(-100)
    assert "nadir 65 mg/L" in event.description


def test_flc_ignored_when_serum_m_protein_measurable():
    resources = [*flc(-200, 75, 10), *flc(-100, 220, 12), *flc(-40, 280, 10),
                 *m_protein_series({-200: 1.5, -100: 1.6, -40: 1.6})]
    assert facts_for(myeloma(), *resources).progression_events == ()


def test_disease_status_worsened_current_and_legacy_codes():
    for loinc in ("97509-4", "88040-1"):
        (event,) = facts_for(myeloma(), disease_status(-20, loinc=loinc)).progression_events
        assert event.kinds == ("disease-status",) and event.date == on(-20)
    assert facts_for(myeloma(), disease_status(-20, worsened=False)).progression_events == ()


def test_disease_status_text_only():
    obs = disease_status(-20)
    obs["valueCodeableConcept"] = {"text": "Progressive disease"}
    assert len(facts_for(myeloma(), obs).progression_events) == 1
    obs["valueCodeableConcept"] = {"text": "No progression"}
    assert facts_for(myeloma(), obs).progression_events == ()


def test_icd_relapse_code_dated_by_onset_else_recorded():
    (event,) = facts_for(myeloma(), condition(icd="C90.02", onset=-40, recorded=-10)).progression_events
    assert event.kinds == ("icd-relapse",) and event.date == on(-40)
    (event,) = facts_for(myeloma(), condition(icd="C90.12", recorded=-10)).progression_events
    assert event.date == on(-10)


def test_clinical_status_relapse_dated_by_recorded_date_only():
    relapsed = myeloma(onset=-1500, clinical_status="relapse", recorded=-6)
    (event,) = facts_for(relapsed).progression_events
    assert event.kinds == ("clinical-status-relapse",) and event.date == on(-6)
    assert facts_for(myeloma(onset=-1500, clinical_status="relapse")).progression_events == ()


def test_stop_reason_progression_dated_at_record_end():
    stopped = medication_statement(LENALIDOMIDE, -400, -25, status="stopped", stop_reason="Disease progression")
    (event,) = facts_for(myeloma(), stopped).progression_events
    assert event.kinds == ("stop-reason",) and event.date == on(-25)


def test_steroid_stop_reason_is_not_progression():
    stopped = medication_statement(DEXAMETHASONE, -400, -25, status="stopped", stop_reason="Disease progression")
    assert facts_for(myeloma(), stopped).progression_events == ()


def test_events_within_30_days_chain_merge_dated_by_earliest():
    resources = [*m_protein_series({-150: 0.3, -80: 0.9, -50: 1.3}), disease_status(-55),
                 medication_statement(LENALIDOMIDE, -400, -30, status="stopped", stop_reason="progression")]
    (event,) = facts_for(myeloma(), *resources).progression_events
    assert event.date == on(-80)
    assert set(event.kinds) == {"imwg-serum", "disease-status", "stop-reason"}


def test_events_more_than_30_days_apart_stay_separate():
    facts = facts_for(myeloma(), disease_status(-100), disease_status(-60))
    assert [e.date for e in facts.progression_events] == [on(-100), on(-60)]


def test_events_after_evaluation_date_are_ignored():
    assert facts_for(myeloma(), disease_status(5)).progression_events == ()


def test_m_protein_reported_as_not_detected_is_a_zero_nadir():
    undetected = serum_m_protein(0.0, "g/dL", -150)
    del undetected["valueQuantity"]
    undetected["valueString"] = "No M-spike detected"
    facts = facts_for(myeloma(), undetected, *m_protein_series({-60: 0.5, -30: 0.7}))
    (event,) = facts.progression_events
    assert event.date == on(-60) and "nadir 0 g/dL" in event.description
