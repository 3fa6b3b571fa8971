"""Cytogenetics: structured FISH, narrative reports with negation, high risk (02 §2.7)."""

from __future__ import annotations

import pytest
from mapping_builders import PATIENT_ID, day, facts_for, fish, fish_narrative, myeloma

from fhir_mappings.cytogenetics import narrative_findings


def test_structured_positive_and_negative():
    facts = facts_for(myeloma(), fish("72824-6", False), fish("72726-3", True), fish("72725-5", False))
    assert facts.high_risk is True and not facts.t11_14_positive and facts.cytogenetics_on_file
    assert facts.missing_cytogenetics == ("t14_16", "gain1q")


def test_structured_text_answer():
    obs = fish("72725-5", True)
    obs["valueCodeableConcept"] = {"text": "Detected"}
    assert facts_for(myeloma(), obs).t11_14_positive


def test_all_tested_negative_is_not_high_risk():
    facts = facts_for(myeloma(), fish("72824-6", False), fish("72726-3", False))
    assert facts.high_risk is False


def test_nothing_on_file_is_unknown():
    facts = facts_for(myeloma())
    assert facts.high_risk is None and not facts.cytogenetics_on_file
    assert facts.missing_cytogenetics == ("del17p", "t4_14", "t14_16", "gain1q")


@pytest.mark.parametrize(("text", "expected"), [
    ("negative for t(11;14)", [("t11_14", False)]),
    ("no del(17p)", [("del17p", False)]),
    ("t(4;14) not detected", [("t4_14", False)]),
    ("t(11;14) detected; no del(17p)", [("t11_14", True), ("del17p", False)]),
    ("Negative for del(17p) and t(4;14).", [("del17p", False), ("t4_14", False)]),
    ("17p deletion in 40% of nuclei", [("del17p", True)]),
    ("TP53 deletion present", [("del17p", True)]),
    ("1q21 gain (3 copies)", [("gain1q", True)]),
    ("amp(1q) detected", [("gain1q", True)]),
    ("+1q in 35% of nuclei", [("gain1q", True)]),
    ("gain(1q) not detected", [("gain1q", False)]),
    ("t(14;16) positive", [("t14_16", True)]),
])
def test_narrative_negation(text, expected):
    assert narrative_findings(text) == expected


def test_narrative_observation_feeds_facts():
    facts = facts_for(myeloma(), fish_narrative("t(11;14) not detected; no del(17p); 1q21 gain detected"))
    assert facts.high_risk is True and not facts.t11_14_positive
    assert facts.missing_cytogenetics == ("t4_14", "t14_16")


def test_diagnostic_report_conclusion():
    report = {"resourceType": "DiagnosticReport", "id": "dr1", "status": "final", "subject": {"reference": f"Patient/{PATIENT_ID}"},
              "effectiveDateTime": day(-800), "conclusion": "FISH: t(11;14) positive. No high-risk abnormality: del(17p) negative."}
    facts = facts_for(myeloma(), report)
    assert facts.t11_14_positive and facts.high_risk is False
    assert any(r.evidence.resource_type == "DiagnosticReport" for r in facts.cytogenetics)


@pytest.mark.parametrize(("text", "expected"), [
    ("del(17p), t(4;14) and t(14;16) not detected", [("del17p", False), ("t4_14", False), ("t14_16", False)]),
    ("t(11;14) detected, del(17p) not detected", [("t11_14", True), ("del17p", False)]),
    ("1q21 gain (3 copies) not detected", [("gain1q", False)]),
    ("1q21 gain (3 copies, 41% of nuclei) detected", [("gain1q", True)]),
    ("negative for t(11;14) but positive for del(17p)", [("t11_14", False), ("del17p", True)]),
])
def test_narrative_lists_and_parentheticals(text, expected):
    assert narrative_findings(text) == expected


def test_leading_negation_covers_a_list_ending_in_detected():
    text = "No high-risk abnormalities (del(17p), t(4;14), t(14;16) or 1q gain) detected"
    assert narrative_findings(text) == [("del17p", False), ("t4_14", False), ("t14_16", False), ("gain1q", False)]


@pytest.mark.parametrize(("text", "expected"), [
    ("t(4;14) not detected, del(17p) detected", [("t4_14", False), ("del17p", True)]),
    ("t(4;14) not detected but del(17p) was detected in 30% of nuclei", [("t4_14", False), ("del17p", True)]),
    ("t(4;14) negative, del(17p) positive", [("t4_14", False), ("del17p", True)]),
])
def test_previous_verdict_is_not_the_next_findings_negation(text, expected):
    assert narrative_findings(text) == expected


@pytest.mark.parametrize("text", [
    "FISH panel: del(17p), t(4;14), t(11;14)",
    "Interphase FISH performed with probes for del(17p), t(4;14), t(11;14) and 1q gain",
    "Myeloma FISH panel includes t(11;14) and t(4;14)",
    "t(11;14)",
    "t(11;14) FISH not performed (insufficient sample)",
    "del(17p): result pending",
    "t(11;14) indeterminate",
])
def test_mention_without_a_verdict_is_no_result(text):
    # Unknown is not positive: a list of probes must not document t(11;14) for venetoclax.
    assert narrative_findings(text) == []


def test_probe_list_report_leaves_t1114_unknown_and_tests_missing():
    facts = facts_for(myeloma(), fish_narrative("FISH panel: del(17p), t(4;14), t(11;14)"))
    assert not facts.t11_14_positive and facts.high_risk is None
    assert facts.missing_cytogenetics == ("del17p", "t4_14", "t14_16", "gain1q")
    assert facts.cytogenetics_on_file


@pytest.mark.parametrize(("text", "expected"), [
    ("FISH panel: t(11;14) detected in 60% of nuclei", [("t11_14", True)]),
    ("Probes for del(17p), t(4;14): all negative", [("del17p", False), ("t4_14", False)]),
    ("Myeloma with t(11;14)", [("t11_14", True)]),
])
def test_verdicts_still_read_inside_panel_reports(text, expected):
    assert narrative_findings(text) == expected


def test_structured_none_detected_is_negative():
    obs = fish("72725-5", True)
    obs["valueCodeableConcept"] = {"text": "None detected"}
    assert not facts_for(myeloma(), obs).t11_14_positive


@pytest.mark.parametrize(("text", "expected"), [
    ("IGH/CCND1 fusion detected in 38% of nuclei", [("t11_14", True)]),
    ("t(4;14) translocation not detected", [("t4_14", False)]),
    ("t(11;14)(q13;q32) positive", [("t11_14", True)]),
    ("Positive: t(11;14)", [("t11_14", True)]),
    ("Negative: del(17p), t(4;14)", [("del17p", False), ("t4_14", False)]),
])
def test_report_phrasings(text, expected):
    assert narrative_findings(text) == expected


def test_fish_panel_components_are_read():
    def component(loinc, answer):
        return {"code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
                "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": answer}]}}

    panel = fish_narrative("see components")
    panel["code"] = {"text": "Plasma cell myeloma FISH panel"}
    panel["component"] = [component("72725-5", "LA6576-8"), component("72824-6", "LA6577-6"),
                          component("72726-3", "LA6577-6")]
    del panel["valueString"]
    facts = facts_for(myeloma(), panel)
    assert facts.t11_14_positive and facts.high_risk is False
    assert facts.missing_cytogenetics == ("t14_16", "gain1q")
