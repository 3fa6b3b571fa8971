"""Starting doses (03 §5): the mechanics — adjustments in order, totals, texts bound to the KB.
The doses themselves are scenarios (clinical_rules/kb/scenarios/supportive_and_doses.yaml)."""

from __future__ import annotations

import pytest

from clinical_rules.doses import UnknownDrugDose, starting_dose

from .builders import FactsBuilder


def test_unknown_drug_raises(kb):
    with pytest.raises(UnknownDrugDose):
        starting_dose("aspirin-like", None, FactsBuilder().build(), kb)


def test_a_renal_band_applies_its_own_values_and_says_why(kb):
    bands = kb.doses["lenalidomide"].renal
    band = next(b for b in bands if b.crcl_below is not None)
    dose = starting_dose("lenalidomide", "DRd", FactsBuilder().crcl(band.crcl_below - 1).build(), kb)
    assert dose.value == band.value and dose.adjustments
    assert dose.adjustments[0].text in dose.text


def test_carfilzomib_total_is_capped_at_the_kb_cap(kb):
    cap = kb.doses["carfilzomib"].bsa_cap_m2
    dose = starting_dose("carfilzomib", "KRd", FactsBuilder().body(200, 130).build(), kb)
    assert dose.total_mg == pytest.approx(round(dose.value * cap, 1))
    assert f"capped at {cap:g}" in dose.text


def test_elderly_factor_halves_every_schedule_and_states_the_numbers(kb):
    elderly = kb.doses["dexamethasone"].elderly
    old = FactsBuilder().age(elderly.age_above + 1).ecog(0).build()
    young = FactsBuilder().age(elderly.age_above).build()
    for regimen in ("DRd", "DVd"):
        reduced, full = starting_dose("dexamethasone", regimen, old, kb), starting_dose("dexamethasone", regimen, young, kb)
        assert reduced.value == pytest.approx(full.value * elderly.factor)
        assert f"instead of {full.value:g} mg" in reduced.text  # the sentence follows the regimen's own dose


def test_every_listed_regimen_drug_has_its_chosen_dose(kb):
    facts = FactsBuilder().build()
    for regimen_id in kb.suggestable:
        for drug in kb.regimens[regimen_id].drugs:
            dose = starting_dose(drug, regimen_id, facts, kb)
            assert dose.kb_version == kb.version and dose.seeds
