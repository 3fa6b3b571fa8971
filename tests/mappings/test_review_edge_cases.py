"""Independent review of spec 02: data variations a held-out patient may combine differently."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from mapping_builders import (
    BORTEZOMIB,
    CYCLOPHOSPHAMIDE,
    DARATUMUMAB,
    DEXAMETHASONE,
    EVAL,
    LENALIDOMIDE,
    MELPHALAN,
    PATIENT_ID,
    administration,
    asct,
    condition,
    creatinine,
    disease_status,
    dispense,
    egfr,
    facts_for,
    free_kappa,
    free_lambda,
    height,
    lvef,
    m_protein_series,
    medication_request,
    medication_statement,
    myeloma,
    observation,
    plasma_cells,
    serum_m_protein,
    urine_m_protein,
    weight,
)

from fhir_mappings import ResourceIndex, build_facts
from fhir_mappings.terminology import LOINC_SYSTEM, SNOMED_SYSTEM


def on(offset: int) -> date:
    return EVAL + timedelta(days=offset)


def flc(day: int, kappa: float, lambda_: float, unit: str = "mg/L"):
    return [free_kappa(kappa, unit, day), free_lambda(lambda_, unit, day)]


# -- IMWG laboratory progression --------------------------------------------------------------------
def test_lambda_involved_flc_progression():
    # Lambda is the higher chain at baseline, so the difference is lambda - kappa.
    resources = [*flc(-300, 8, 160), *flc(-200, 9, 40), *flc(-100, 10, 190), *flc(-60, 10, 230)]
    (event,) = facts_for(myeloma(), *resources).progression_events
    assert event.kinds == ("imwg-flc",) and event.date == on(-100)


def test_flc_rise_of_exactly_100_mg_l_is_not_progression():
    # > 100 mg/L is strict: nadir 20, +100 is not enough; +101 is.
    short = [*flc(-300, 60, 10), *flc(-200, 30, 10), *flc(-100, 130, 10), *flc(-60, 130, 10)]
    assert facts_for(myeloma(), *short).progression_events == ()
    enough = [*flc(-300, 60, 10), *flc(-200, 30, 10), *flc(-100, 131, 10), *flc(-60, 131, 10)]
    assert len(facts_for(myeloma(), *enough).progression_events) == 1


def test_flc_not_used_when_urine_m_protein_measurable():
    resources = [*flc(-300, 60, 10), *flc(-200, 30, 10), *flc(-100, 300, 10), *flc(-60, 320, 10),
                 urine_m_protein(450, "mg/(24.h)", -200), urine_m_protein(430, "mg/(24.h)", -60)]
    assert facts_for(myeloma(), *resources).progression_events == ()


def test_urine_rise_in_grams_needs_200_mg_and_25_percent():
    rising = [urine_m_protein(0.3, "g/(24.h)", -200), urine_m_protein(0.55, "g/(24.h)", -100),
              urine_m_protein(0.6, "g/(24.h)", -60)]
    (event,) = facts_for(myeloma(), *rising).progression_events
    assert event.kinds == ("imwg-urine",) and event.date == on(-100)
    short = [urine_m_protein(300, "mg/(24.h)", -200), urine_m_protein(480, "mg/(24.h)", -100),
             urine_m_protein(490, "mg/(24.h)", -60)]
    assert facts_for(myeloma(), *short).progression_events == ()


def test_progression_response_and_second_progression_reset_the_nadir():
    series = {-700: 2.0, -600: 0.4, -560: 1.0, -530: 1.2,   # event 1 at -560 from nadir 0.4
              -400: 0.6, -300: 0.5,                          # response on next line: new nadir 0.5
              -120: 1.1, -80: 1.3}                           # event 2 at -120 from nadir 0.5
    events = facts_for(myeloma(), *m_protein_series(series)).progression_events
    assert [e.date for e in events] == [on(-560), on(-120)]


def test_nadir_after_a_progression_excludes_values_before_it():
    # The pre-progression low (0.2) no longer counts: after the event the nadir is 1.0, so 1.3 is
    # not 25 % / 0.5 g/dL above it.
    series = {-500: 0.2, -400: 1.0, -370: 1.0, -200: 1.3, -150: 1.35}
    events = facts_for(myeloma(), *m_protein_series(series)).progression_events
    assert [e.date for e in events] == [on(-400)]


def test_two_confirmed_rises_more_than_30_days_apart_are_two_events():
    series = {-400: 0.5, -300: 1.2, -290: 1.3, -200: 2.0, -180: 2.2}
    events = facts_for(myeloma(), *m_protein_series(series)).progression_events
    assert [e.date for e in events] == [on(-300), on(-200)]


def test_clinical_events_chained_within_30_days_merge_to_earliest():
    resources = [disease_status(-100), condition(icd="C90.02", onset=-80), disease_status(-55)]
    (event,) = facts_for(myeloma(), *resources).progression_events
    assert event.date == on(-100) and set(event.kinds) == {"disease-status", "icd-relapse"}
    assert len(event.evidence) == 3


def test_urine_progression_restarts_the_serum_nadir():
    # Urine progression at -300 restarts the serum nadir: the serum low of 0.3 before it no
    # longer counts, so serum 0.8 -> 0.85 -> 0.9 afterwards is not a second progression (against
    # the old nadir it would be one, dated -250: more than 30 days after the urine event).
    resources = [*m_protein_series({-500: 0.3, -250: 0.8, -200: 0.85, -150: 0.9}),
                 urine_m_protein(100, "mg/(24.h)", -500), urine_m_protein(500, "mg/(24.h)", -300),
                 urine_m_protein(520, "mg/(24.h)", -270)]
    events = facts_for(myeloma(), *resources).progression_events
    assert [e.date for e in events] == [on(-300)]


def test_m_protein_as_numeric_string_and_comparator():
    values = [serum_m_protein(0, "g/dL", -200), observation("33358-3", -100, valueString="0.9 g/dL"),
              observation("33358-3", -60, valueString="1.1 g/dL")]
    (event,) = facts_for(myeloma(), *values).progression_events
    assert event.date == on(-100)
    below = serum_m_protein(0.1, "g/dL", -300)
    below["valueQuantity"]["comparator"] = "<"
    assert facts_for(myeloma(), below).progression_events == ()


def test_numeric_string_without_unit_is_ignored_and_noted():
    values = [serum_m_protein(0.2, "g/dL", -200), observation("33358-3", -100, valueString="1.4"),
              observation("33358-3", -60, valueString="1.6")]
    facts = facts_for(myeloma(), *values)
    assert facts.progression_events == ()
    assert any(note.code == "missing-unit" for note in facts.notes)


def test_m_protein_in_mg_dl():
    facts = facts_for(myeloma(), *m_protein_series({-200: 300, -100: 900, -60: 1000}, unit="mg/dL"))
    assert [e.date for e in facts.progression_events] == [on(-100)]


# -- conditions as progression ------------------------------------------------------------------------
def test_clinical_status_relapse_without_recorded_date_is_no_event():
    relapse = myeloma(onset=-1500, clinical_status="relapse")
    assert facts_for(relapse).progression_events == ()


def test_c90_02_onset_wins_over_recorded_date():
    (event,) = facts_for(myeloma(), condition(icd="C90.02", onset=-90, recorded=-20)).progression_events
    assert event.date == on(-90)


def test_pcl_code_alone_is_not_a_myeloma_diagnosis():
    facts = facts_for(condition(icd="C90.12", text="Plasma cell leukemia in relapse", onset=-30))
    assert not facts.myeloma.present and facts.plasma_cell_leukaemia.present and not facts.at_relapse


def test_pcl_relapse_with_myeloma_is_at_relapse_and_pcl():
    facts = facts_for(myeloma(), condition(icd="C90.12", onset=-30),
                      medication_statement(LENALIDOMIDE, -800, -400))
    assert facts.at_relapse and facts.plasma_cell_leukaemia.present


def test_circulating_plasma_cells_old_or_low_are_not_pcl():
    assert not facts_for(myeloma(), plasma_cells(12, -120)).plasma_cell_leukaemia.present
    assert not facts_for(myeloma(), plasma_cells(12, -60), plasma_cells(3, -10)).plasma_cell_leukaemia.present
    assert facts_for(myeloma(), plasma_cells(5, -10)).plasma_cell_leukaemia.present


def test_extramedullary_by_text():
    facts = facts_for(myeloma(), condition(text="Extramedullary plasmacytoma of the chest wall", onset=-20))
    assert facts.extramedullary.present


# -- medications ---------------------------------------------------------------------------------------
def test_stop_reason_snomed_coding_dates_progression_at_end():
    stopped = medication_statement(LENALIDOMIDE, -400, -100, status="stopped",
                                   statusReason=[{"coding": [{"system": SNOMED_SYSTEM, "code": "271299001"}]}])
    (event,) = facts_for(myeloma(), stopped).progression_events
    assert event.date == on(-100) and event.kinds == ("stop-reason",)


def test_request_stop_reason_on_single_concept():
    request = medication_request(BORTEZOMIB, -300, status="stopped", bounds_end=-90,
                                 statusReason={"text": "Disease progression"})
    (event,) = facts_for(myeloma(), request).progression_events
    assert event.date == on(-90)


def test_validity_period_only_request():
    request = medication_request(LENALIDOMIDE, -300, status="completed")
    del request["authoredOn"]
    request["dispenseRequest"] = {"validityPeriod": {"start": on(-300).isoformat(), "end": on(-200).isoformat()}}
    (exposure,) = facts_for(myeloma(), request).exposures
    assert (exposure.start, exposure.end, exposure.ongoing) == (on(-300), on(-200), False)


def test_on_hold_without_end_is_ongoing():
    (exposure,) = facts_for(myeloma(), medication_statement(LENALIDOMIDE, -300, status="on-hold")).exposures
    assert exposure.ongoing and exposure.end == EVAL


def test_administrations_with_a_gap_over_60_days_are_two_exposures():
    doses = [administration(DARATUMUMAB, d) for d in (-400, -372, -344, -316, -200, -172)]
    exposures = facts_for(myeloma(), *doses).exposures
    assert [(e.start, e.end) for e in exposures] == [(on(-400), on(-316)), (on(-200), on(-172))]


def test_dispense_refills_and_gap():
    fills = [dispense(LENALIDOMIDE, -300, 28), dispense(LENALIDOMIDE, -270, 28), dispense(LENALIDOMIDE, -100, 21)]
    exposures = facts_for(myeloma(), *fills).exposures
    assert [(e.start, e.end) for e in exposures] == [(on(-300), on(-242)), (on(-100), on(-79))]


def test_undated_antimyeloma_record_is_counted_once():
    undated = {"resourceType": "MedicationStatement", "id": "ms-undated", "status": "completed",
               "subject": {"reference": f"Patient/{PATIENT_ID}"}, "medicationCodeableConcept": LENALIDOMIDE}
    undated_steroid = {**undated, "id": "ms-undated-dex", "medicationCodeableConcept": DEXAMETHASONE}
    facts = facts_for(myeloma(), undated, undated_steroid)
    (note,) = [n for n in facts.notes if n.code == "lines-uncertain"]
    assert note.text.startswith("1 anti-myeloma")
    assert facts.exposures == ()


def test_medication_records_are_read_once(monkeypatch):
    import fhir_mappings.exposures as exposures_module

    calls: list[str] = []
    real = exposures_module.drugs_in_resource

    def counting(resource, *args, **kwargs):
        calls.append(resource.get("id"))
        return real(resource, *args, **kwargs)

    monkeypatch.setattr(exposures_module, "drugs_in_resource", counting)
    facts_for(myeloma(), medication_statement(LENALIDOMIDE, -300), administration(BORTEZOMIB, -200))
    assert len(calls) == len(set(calls)) == 2


# -- lines and refractoriness ----------------------------------------------------------------------------
def test_conditioning_and_mobilisation_do_not_open_lines_and_maintenance_progression_is_refractory():
    resources = [
        medication_statement(LENALIDOMIDE, -1200, -1080), medication_statement(BORTEZOMIB, -1200, -1080),
        medication_statement(CYCLOPHOSPHAMIDE, -1060, -1059), medication_statement(MELPHALAN, -1012, -1011),
        asct(-1010),
        medication_statement(LENALIDOMIDE, -920, status="active"),  # maintenance, still taking it
        disease_status(-30),
    ]
    facts = facts_for(myeloma(), *resources)
    (line,) = facts.lines
    assert line.includes_asct and "lenalidomide" in line.maintenance_drugs
    assert set(line.drugs) == {"lenalidomide", "bortezomib", "cyclophosphamide", "melphalan"}
    assert facts.prior_lines == 1 and facts.at_relapse and facts.lenalidomide_refractory
    assert facts.months_asct_to_progression == pytest.approx(32.2, abs=0.2)


def test_drug_stopped_over_60_days_before_progression_is_not_refractory():
    facts = facts_for(myeloma(), medication_statement(LENALIDOMIDE, -600, -100), disease_status(-30))
    assert not facts.lenalidomide_refractory
    facts = facts_for(myeloma(), medication_statement(LENALIDOMIDE, -600, -80), disease_status(-30))
    assert facts.lenalidomide_refractory


def test_asct_by_cpt_and_autologous_hsct_text():
    cpt = {"resourceType": "Procedure", "id": "p-cpt", "status": "completed", "subject": {"reference": f"Patient/{PATIENT_ID}"},
           "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "38241"}]},
           "performedPeriod": {"start": on(-700).isoformat()}}
    text = {**cpt, "id": "p-text", "code": {"text": "Autologous HSCT"}, "performedDateTime": on(-600).isoformat()}
    del text["performedPeriod"]
    allo = {**text, "id": "p-allo", "code": {"text": "Allogeneic HSCT"}, "performedDateTime": on(-500).isoformat()}
    assert [t.date for t in facts_for(myeloma(), cpt).transplants] == [on(-700)]
    assert [t.date for t in facts_for(myeloma(), text).transplants] == [on(-600)]
    assert facts_for(myeloma(), allo).transplants == ()


# -- patient state -----------------------------------------------------------------------------------
def test_creatinine_umol_weight_pounds_height_inches():
    facts = facts_for(myeloma(), creatinine(133, "umol/L", -10), weight(176, "[lb_av]", -10),
                      height(70, "[in_i]", -400))
    # (140 - 65) * 79.83 / (72 * 1.5045) = 55.3
    assert facts.renal.crcl_ml_min == pytest.approx(55.3, abs=0.2) and facts.renal.method == "cockcroft-gault"
    assert facts.height_cm is not None and facts.height_cm.value == pytest.approx(177.8)
    assert facts.bsa_m2 == pytest.approx(1.99, abs=0.01)


def test_weight_in_grams_and_height_in_metres():
    facts = facts_for(myeloma(), weight(70000, "g", -5), height(1.75, "m", -5))
    assert facts.weight_kg is not None and facts.weight_kg.value == pytest.approx(70)
    assert facts.height_cm is not None and facts.height_cm.value == pytest.approx(175)


def test_egfr_used_when_no_weight_and_said_so():
    facts = facts_for(myeloma(), creatinine(1.4, "mg/dL", -10), egfr(48, -10))
    assert facts.renal.method == "egfr" and facts.renal.crcl_ml_min == 48
    assert any(n.code == "renal-fallback" for n in facts.notes)


def test_latest_lvef_decides_heart_failure():
    assert facts_for(myeloma(), lvef(55, -400), lvef(35, -20)).heart_failure.present
    assert not facts_for(myeloma(), lvef(35, -400), lvef(55, -20)).heart_failure.present


@pytest.mark.parametrize(("value", "grade"), [
    ({"valueCodeableConcept": {"coding": [{"system": LOINC_SYSTEM, "code": "LA9624-3"}]}}, 2),
    ({"valueCodeableConcept": {"coding": [{"system": LOINC_SYSTEM, "code": "LA9627-6"}]}}, 5),
    ({"valueCodeableConcept": {"coding": [{"system": "http://hospital.example.org/ecog", "code": "E2",
                                           "display": "ECOG 2"}]}}, 2),
    ({"valueCodeableConcept": {"text": "ECOG 1"}}, 1),
    ({"valueInteger": 0}, 0),
])
def test_ecog_forms(value, grade):
    facts = facts_for(myeloma(), observation("89247-1", -10, **value))
    assert facts.ecog is not None and facts.ecog.value == grade
    assert facts.frail is (grade >= 2)


def test_age_on_the_day_before_and_of_a_birthday():
    index = ResourceIndex(PATIENT_ID)
    index.add({"resourceType": "Patient", "id": PATIENT_ID, "birthDate": "1950-06-02", "gender": "female"})
    assert build_facts(index, PATIENT_ID, date(2025, 6, 1)).age == 74
    assert build_facts(index, PATIENT_ID, date(2025, 6, 2)).age == 75


def test_dialysis_text_and_inactive_dialysis():
    assert facts_for(myeloma(), condition(text="End stage renal disease on hemodialysis")).renal.dialysis
    assert not facts_for(myeloma(), condition(icd="Z99.2", clinical_status="resolved")).renal.dialysis


# -- feeds ------------------------------------------------------------------------------------------
def test_other_patient_by_absolute_url_is_dropped():
    theirs = disease_status(-20)
    theirs["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/someone-else"}
    ours = disease_status(-200)
    ours["subject"] = {"reference": f"https://ehr.example.org/fhir/Patient/{PATIENT_ID}/_history/3"}
    facts = facts_for(myeloma(), theirs, ours)
    assert [e.date for e in facts.progression_events] == [on(-200)]
    assert any(n.code == "other-patient" for n in facts.notes)


def test_same_resource_under_two_keys_counts_once():
    status = disease_status(-20)
    index = ResourceIndex(PATIENT_ID)
    index.add_any([myeloma(), {"resourceType": "Bundle", "entry": [{"resource": status}]},
                   {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": dict(status)}]}])
    (event,) = build_facts(index, PATIENT_ID, EVAL).progression_events
    assert len(event.evidence) == 1


@pytest.mark.parametrize(("loinc", "value", "unit", "expected"), [
    ("42482-0", 0.5, "g/24hr", 500.0),
    ("14682-9", 88.4, "micromol/L", 1.0),
    ("98979-8", 44, "mL/min/1.73 m²", 44.0),
    ("13047-6", 7, "/100{WBCs}", 7.0),
])
def test_unit_spellings_seen_in_feeds(loinc, value, unit, expected):
    from fhir_mappings.observations import CREATININE, EGFR, PLASMA_CELLS, URINE_M_PROTEIN, ObservationReader

    kind = {"42482-0": URINE_M_PROTEIN, "14682-9": CREATININE, "98979-8": EGFR, "13047-6": PLASMA_CELLS}[loinc]
    index = ResourceIndex(PATIENT_ID)
    index.add(observation(loinc, -5, value=value, unit=unit))
    (measurement,) = ObservationReader(index, EVAL).measurements(kind)
    assert measurement.value == pytest.approx(expected)


@pytest.mark.parametrize(("reason", "is_progression"), [
    ("Disease progression", True),
    ("Progressive disease", True),
    ("Toxicity (neuropathy), no progression", False),
    ("Stopped without progression: completed planned cycles", False),
])
def test_stop_reason_text_respects_negation(reason, is_progression):
    stopped = medication_statement(BORTEZOMIB, -300, -100, status="stopped", stop_reason=reason)
    assert bool(facts_for(myeloma(), stopped).progression_events) is is_progression


@pytest.mark.parametrize("text", ["Autologous stem cell harvest", "Autologous peripheral blood stem cell apheresis",
                                  "Evaluation for autologous stem cell transplant"])
def test_steps_around_a_transplant_are_not_one(text):
    procedure = {"resourceType": "Procedure", "id": "p-step", "status": "completed",
                 "subject": {"reference": f"Patient/{PATIENT_ID}"}, "code": {"text": text},
                 "performedDateTime": on(-700).isoformat()}
    assert facts_for(myeloma(), procedure).transplants == ()


@pytest.mark.parametrize(("text", "is_progression"), [
    ("Progressive disease", True),
    ("No evidence of progression", False),
    ("Without signs of disease progression", False),
    ("Not worsening", False),
])
def test_disease_status_text_respects_negation(text, is_progression):
    status = disease_status(-20)
    status["valueCodeableConcept"] = {"text": text}
    assert bool(facts_for(myeloma(), status).progression_events) is is_progression


def test_same_day_values_from_two_feeds_are_not_a_confirmation():
    values = [serum_m_protein(0.3, "g/dL", -200), serum_m_protein(1.0, "g/dL", -20), serum_m_protein(10.4, "g/L", -20)]
    facts = facts_for(myeloma(), *values)
    assert facts.progression_events == ()
    assert facts.possible_progression is not None and facts.possible_progression.date == on(-20)


def test_clinical_progression_during_an_unconfirmed_rise_still_restarts_the_nadir():
    # Rise at -300 (unconfirmed: -250 falls back), clinician-recorded progression at -280:
    # from -250 on the nadir is 0.7, so 1.1 and 1.15 later are not a new progression (against the
    # old nadir of 0.3 they would be).
    series = {-400: 0.3, -300: 0.9, -250: 0.7, -100: 1.1, -60: 1.15}
    facts = facts_for(myeloma(), *m_protein_series(series), disease_status(-280))
    assert [e.date for e in facts.progression_events] == [on(-280)]


def test_renal_gap_note_says_what_is_missing():
    facts = facts_for(myeloma(), creatinine(1.1, "mg/dL", -10))  # no weight, no eGFR
    (note,) = [n for n in facts.notes if n.code == "no-recent-creatinine"]
    assert "no weight within 90 days" in note.text and "no creatinine" not in note.text
    assert facts.renal.crcl_ml_min is None


@pytest.mark.parametrize(("text", "expected"), [
    ("1.4 g/dL", (1.4, "g/dL")), ("1.4 g/dL (H)", (1.4, "g/dL")), ("<0.1", (0.1, None)), ("12 % H", (12.0, "%")),
    ("2+", (2.0, "+")), ("not a number", (None, None)), ("1.2.3 g/dL", (None, None)),
])
def test_numeric_value_strings(text, expected):
    from fhir_mappings.observations import _quantity

    assert _quantity({"valueString": text}) == expected


def test_extramedullary_haematopoiesis_is_not_extramedullary_disease():
    assert not facts_for(myeloma(), condition(text="Extramedullary hematopoiesis", onset=-20)).extramedullary.present
    assert facts_for(myeloma(), condition(icd="C90.20", text="Extramedullary plasmacytoma")).extramedullary.present
