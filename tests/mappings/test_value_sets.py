"""Value sets per analyte (fhir_mappings/data/value_sets.json): every code a real laboratory uses
for an analyte is read as that analyte, normalised as the spec's own code; a myeloma patient
whose record has no usable response measurement gets the data-gap item, never silence."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from mapping_builders import day, facts_for, myeloma, observation

from cds_cards.patient_view import render
from clinical_rules.kb import load_knowledge_base
from fhir_mappings.value_sets import analyte_for, codes_of, value_sets

KB = load_knowledge_base()


def _codes_json() -> dict:
    return json.loads(resources.files("fhir_mappings").joinpath("data", "codes.json").read_text())


def test_every_code_of_codes_json_is_in_its_value_set():
    for kind, row in _codes_json()["observations"].items():
        if kind in value_sets().analytes:
            assert set(row.get("loinc") or ()) <= codes_of(kind), kind


def test_every_entry_says_what_it_is_and_where_it_was_checked():
    for analyte, codes in value_sets().analytes.items():
        assert codes, analyte
        for code in codes:
            assert code.system == "http://loinc.org" and code.display and code.source, (analyte, code.code)
    for kind, codes in (*value_sets().exclusions.items(), *value_sets().inclusions.items()):
        assert kind in _codes_json()["conditions"]
        assert all(c.display and c.source for c in codes)


def test_analyte_for_reads_loinc_codings_only():
    assert analyte_for({"system": "http://loinc.org", "code": "51435-6"}) == "serum_m_protein"
    assert analyte_for({"code": "38483-4"}) == "creatinine"
    assert analyte_for("88294-4") == "egfr"
    assert analyte_for({"system": "http://snomed.info/sct", "code": "51435-6"}) is None
    assert analyte_for({"system": "http://loinc.org", "code": "718-7"}) is None
    assert analyte_for(None) is None and analyte_for({"code": 5}) is None


def test_m_spike_as_monoclonal_band_1_drives_progression():
    series = [observation("51435-6", d, value=v, unit="g/dL") for d, v in
              ((-200, 0.8), (-120, 0.4), (-60, 1.2), (-30, 1.4))]
    facts = facts_for(myeloma(), *series)
    assert facts.response_measurements_on_file
    assert [e.date.isoformat() for e in facts.progression_events] == [day(-60)]
    assert facts.progression_events[0].kinds == ("imwg-serum",)


@pytest.mark.parametrize(("loinc", "value", "unit", "attribute", "expected"), [
    ("38483-4", 1.2, "mg/dL", "creatinine", 1.2),  # creatinine in blood
    ("59826-8", 106.08, "umol/L", "creatinine", 1.2),  # ... molar, in blood
    ("3141-9", 154.3, "[lb_av]", "weight", 70.0),  # body weight measured
    ("8306-3", 1.75, "m", "height", 175.0),  # body height lying
    ("8806-2", 35, "%", "lvef", 35.0),  # LVEF by 2D echo
])
def test_other_codes_of_an_analyte_are_normalised_like_the_spec_code(loinc, value, unit, attribute, expected):
    facts = facts_for(myeloma(), observation(loinc, -10, value=value, unit=unit))
    measurement = {"creatinine": facts.renal.creatinine_mg_dl, "weight": facts.weight_kg,
                   "height": facts.height_cm, "lvef": facts.lvef_percent}[attribute]
    assert measurement is not None and measurement.value == pytest.approx(expected, rel=1e-3)
    if attribute == "lvef":
        assert facts.heart_failure.present


def test_egfr_by_another_equation_stands_in_for_cockcroft_gault():
    facts = facts_for(myeloma(), observation("88294-4", -10, value=42, unit="mL/min/{1.73_m2}"))
    assert facts.renal.method == "egfr" and facts.renal.crcl_ml_min == 42


def _gap_texts(facts) -> str:
    return "\n".join(c["detail"] for c in render(facts, KB) if c["source"]["topic"]["code"] == "data-gap")


def test_a_myeloma_patient_without_response_measurements_gets_the_gap_not_silence():
    facts = facts_for(myeloma())
    assert not facts.response_measurements_on_file
    assert "No serum or urine M-protein or free light chains on file" in _gap_texts(facts)


def test_an_unusable_m_protein_is_no_response_measurement():
    # Without a unit the value is ignored (02 §4), so it cannot judge response either.
    facts = facts_for(myeloma(), observation("33358-3", -20, value=1.1))
    assert not facts.response_measurements_on_file
    assert "No serum or urine M-protein or free light chains on file" in _gap_texts(facts)


def test_an_m_spike_under_its_other_code_is_a_response_measurement():
    facts = facts_for(myeloma(), observation("51435-6", -20, value=1.1, unit="g/dL"))
    assert facts.response_measurements_on_file
    assert "No serum or urine M-protein" not in _gap_texts(facts)
