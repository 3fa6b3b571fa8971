"""Negation and qualifiers in text matches (fhir_mappings.qualifiers), code-level exclusions
(value_sets.json), and what they change downstream: a hypertensive heart disease coded or
worded "without heart failure" is not heart failure, so an R7 patient gets KRd first and a
carfilzomib draft raises no heart-failure warning."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from pathlib import Path

import pytest
from mapping_builders import condition, facts_for, myeloma

from clinical_rules.kb import load_knowledge_base
from clinical_rules.order_checks import check_orders
from clinical_rules.patient_view.treatment import choose_treatment
from fhir_mappings import ResourceIndex, build_facts
from fhir_mappings.conditions import TEXT_EVIDENCE_SUFFIX
from fhir_mappings.draft_orders import read_draft_orders
from fhir_mappings.qualifiers import mentions
from fhir_mappings.terminology import SNOMED_SYSTEM

KB = load_knowledge_base()
PHRASES = re.compile(r"heart failure|neuropathy|dialysis|DVT|pulmonary embolism|multiple myeloma|t\(4;14\)",
                     re.IGNORECASE)


@pytest.mark.parametrize(("text", "expected"), [
    ("Hypertensive heart disease without heart failure", "negated"),
    ("Benign hypertensive heart disease without congestive heart failure (disorder)", "negated"),
    ("HHD w/o heart failure", "negated"),
    ("without peripheral neuropathy", "negated"),
    ("Patient denies neuropathy", "negated"),
    ("not on dialysis", "negated"),
    ("heart failure excluded", "negated"),
    ("DVT was ruled out", "negated"),
    ("history negative for DVT", "negated"),
    ("No history of DVT", "negated"),
    ("no evidence of congestive heart failure", "negated"),
    ("neuropathy: negative", "negated"),
    ("Family history of multiple myeloma", "family"),
    ("Rule out DVT", "hypothetical"),
    ("Heart failure cannot be excluded", "hypothetical"),
    ("History of DVT", "historical"),
    ("Need for DVT prophylaxis", "hypothetical"),
    ("Pulmonary embolism risk assessment", "hypothetical"),
    ("History of dialysis", "historical"),
    ("Neuropathy resolved", "resolved"),
    # not negations
    ("Chronic diastolic (congestive) heart failure", "affirmed"),
    ("Hypertensive heart disease with heart failure", "affirmed"),
    ("Pulmonary embolism without acute cor pulmonale", "affirmed"),  # the "without" is about the cor pulmonale
    ("Diabetic neuropathy, not otherwise specified", "affirmed"),
    ("No change in neuropathy", "affirmed"),
    ("Non-ischemic heart failure", "affirmed"),
    ("No fever. Neuropathy grade 2", "affirmed"),  # the negation ends with its sentence
    ("No DVT but heart failure since 2020", "affirmed"),  # ... or at "but"
    ("No anaemia, no fever, no weight loss or chest pain in the last month; heart failure", "affirmed"),
])
def test_qualifier_of_the_last_mention(text, expected):
    found = mentions(PHRASES, text)
    assert found, text
    assert found[-1].qualifier == expected


def test_a_cue_far_before_the_mention_does_not_reach_it():
    text = "No pain at rest on walking or climbing stairs for the last several weeks with heart failure"
    assert mentions(PHRASES, text)[-1].qualifier == "affirmed"


# -- conditions --------------------------------------------------------------------------------
def test_i11_9_without_heart_failure_is_not_heart_failure():
    facts = facts_for(myeloma(), condition(icd="I11.9", text="Hypertensive heart disease without heart failure"))
    assert not facts.heart_failure.present


def test_the_code_beats_its_display_text():
    # An exclusion code with a display that, read alone, would say heart failure.
    misleading = condition(snomed="77970009", text="Hypertensive heart disease; heart failure clinic follow-up")
    assert not facts_for(myeloma(), misleading).heart_failure.present
    i13 = condition(icd="I13.10", text="Hypertensive heart and CKD, heart failure")
    assert not facts_for(myeloma(), i13).heart_failure.present
    # ... and a code of the finding counts whatever the words say.
    coded = condition(icd="I50.22", text="no heart failure symptoms today")
    assert facts_for(myeloma(), coded).heart_failure.present


def test_hypertensive_heart_disease_with_heart_failure_is_heart_failure_by_code():
    facts = facts_for(myeloma(), condition(icd="I11.0"))
    assert facts.heart_failure.present
    assert TEXT_EVIDENCE_SUFFIX not in facts.heart_failure.evidence[0].text


@pytest.mark.parametrize(("kind", "text"), [
    ("neuropathy", "without peripheral neuropathy"),
    ("neuropathy", "Denies neuropathy"),
    ("dialysis", "CKD stage 4, not on dialysis"),
    ("dialysis", "History of dialysis for acute kidney injury, recovered"),
    ("heart_failure", "Dyspnoea: heart failure excluded by echocardiogram"),
    ("vte_history", "Leg swelling, history negative for DVT"),
    ("vte_history", "Pulmonary embolism ruled out by CT angiogram"),
    ("heart_failure", "Heart failure, resolved"),
])
def test_negated_or_past_words_do_not_make_the_finding(kind, text):
    facts = facts_for(myeloma(), condition(text=text))
    finding = {"neuropathy": facts.neuropathy, "heart_failure": facts.heart_failure,
               "vte_history": facts.vte_history}.get(kind)
    present = facts.renal.dialysis if kind == "dialysis" else finding.present
    assert not present, text


@pytest.mark.parametrize(("kind", "text"), [
    ("neuropathy", "Peripheral neuropathy, grade 1"),
    ("dialysis", "ESRD on dialysis three times weekly"),
    ("heart_failure", "Congestive heart failure"),
    ("vte_history", "History of DVT (left leg, 2019)"),
    ("vte_history", "Pulmonary embolism"),
])
def test_the_same_words_affirmed_make_the_finding(kind, text):
    # The control for the negated cases above: the words are read, and only the qualifier differs.
    facts = facts_for(myeloma(), condition(text=text))
    finding = {"neuropathy": facts.neuropathy, "heart_failure": facts.heart_failure,
               "vte_history": facts.vte_history}.get(kind)
    present = facts.renal.dialysis if kind == "dialysis" else finding.present
    assert present, text


def test_a_fact_from_words_says_so_in_its_evidence():
    facts = facts_for(myeloma(), condition(text="History of DVT (left leg, 2019)"),
                      condition(text="Congestive heart failure"))
    assert facts.vte_history.present and facts.heart_failure.present
    assert facts.vte_history.evidence[0].text.endswith(TEXT_EVIDENCE_SUFFIX)
    assert facts.heart_failure.evidence[0].text.endswith(TEXT_EVIDENCE_SUFFIX)
    coded = facts_for(myeloma(), condition(icd="I50.9", text="Heart failure"))
    assert not coded.heart_failure.evidence[0].text.endswith(TEXT_EVIDENCE_SUFFIX)


def test_family_history_of_myeloma_is_not_myeloma():
    assert not facts_for(condition(text="Family history of multiple myeloma")).myeloma.present
    assert facts_for(condition(text="History of multiple myeloma, IgG kappa")).myeloma.present


def test_narrative_fish_excluded_is_negative():
    obs = {"resourceType": "Observation", "id": "fish-1", "status": "final",
           "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2025-01-10",
           "code": {"coding": [{"system": "http://loinc.org", "code": "50659-2"}]},
           "valueString": "FISH: t(4;14) excluded; del(17p) detected in 30% of nuclei"}
    facts = facts_for(myeloma(), obs)
    results = {r.abnormality: r.positive for r in facts.cytogenetics}
    assert results == {"t4_14": False, "del17p": True}


def test_no_autologous_transplant_in_the_words_is_no_transplant():
    procedure = {"resourceType": "Procedure", "id": "pr-1", "status": "completed",
                 "subject": {"reference": "Patient/p1"}, "performedDateTime": "2023-05-01",
                 "code": {"text": "No autologous stem cell transplant (declined)"}}
    assert facts_for(myeloma(), procedure).transplants == ()
    affirmed = {**procedure, "code": {"text": "Autologous stem cell transplant"}}
    assert facts_for(myeloma(), affirmed).transplants != ()


# -- downstream: the R7 patient of the public vignettes, with hypertensive heart disease ---------
VIGNETTE = next((p for p in (Path("/work/shared/vignettes/public-2026.2/pv-r7-krd-prior-daratumumab.json"),
                             Path("/work/shared/vignettes/public/pv-r7-krd-prior-daratumumab.json")) if p.is_file()),
                None)


def _r7_facts(extra: dict | None):
    if VIGNETTE is None:
        pytest.skip("public vignette pv-r7-krd-prior-daratumumab not present")
    case = json.loads(VIGNETTE.read_text())
    data = case["data"]
    resources = copy.deepcopy(data["resources"])
    if extra is not None:
        resources.append({**extra, "subject": {"reference": f"Patient/{data['patientId']}"}})
    index = ResourceIndex(data["patientId"])
    index.add_any(resources)
    return build_facts(index, data["patientId"], date.fromisoformat(case["asOf"]),
                       catalog=KB.catalog, params=KB.derivation_parameters)


@pytest.mark.parametrize("hhd", [
    {"resourceType": "Condition", "id": "hhd", "clinicalStatus": {"coding": [{"code": "active"}]},
     "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I11.9",
                          "display": "Hypertensive heart disease without heart failure"}]}},
    {"resourceType": "Condition", "id": "hhd", "clinicalStatus": {"coding": [{"code": "active"}]},
     "code": {"coding": [{"system": SNOMED_SYSTEM, "code": "77970009",
                          "display": "Benign hypertensive heart disease without congestive heart failure (disorder)"}]}},
    {"resourceType": "Condition", "id": "hhd", "clinicalStatus": {"coding": [{"code": "active"}]},
     "code": {"text": "Hypertensive heart disease without heart failure"}},
], ids=["icd-i11.9", "snomed-77970009", "text-only"])
def test_without_heart_failure_keeps_krd_first_and_no_carfilzomib_warning(hhd):
    baseline = choose_treatment(_r7_facts(None), KB)
    facts = _r7_facts(hhd)
    assert not facts.heart_failure.present
    decision = choose_treatment(facts, KB)
    assert [o.regimen_id for o in decision.options] == [o.regimen_id for o in baseline.options]
    assert decision.options[0].regimen_id == "KRd"
    draft = {"resourceType": "MedicationRequest", "id": "cfz", "status": "draft", "intent": "order",
             "subject": {"reference": f"Patient/{facts.patient_id}"},
             "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                       "code": "1302971", "display": "Kyprolis"}]}}
    orders = read_draft_orders({"resourceType": "Bundle", "entry": [{"resource": draft}]})
    assert "O8" not in {f.check_id for f in check_orders(orders, orders, facts, KB)}


def test_heart_failure_in_words_still_demotes_carfilzomib():
    hf = {"resourceType": "Condition", "id": "hf", "clinicalStatus": {"coding": [{"code": "active"}]},
          "code": {"text": "Hypertensive heart disease with heart failure"}}
    facts = _r7_facts(hf)
    assert facts.heart_failure.present
    assert choose_treatment(facts, KB).options[0].regimen_id != "KRd"
