"""The guarded texts of clinical_rules/kbmodel/coverage.py: rules in force that no list of KB 2026.1
triggers. Each test edits a copy so that the rule applies and checks the rule and its sentence."""

from __future__ import annotations

from kb_copies import edit_yaml as _edit
from kb_copies import kb_copy as _copy

from cds_service.scenarios.models import Patient
from cds_service.scenarios.patients import facts_for
from clinical_rules.kb import build_knowledge_base
from clinical_rules.kbmodel import coverage
from clinical_rules.patient_view import decide

from .builders import EVALUATION_DATE


def _treatment(kb, **patient):
    return decide(facts_for(Patient(**patient), kb, EVALUATION_DATE), kb).treatment.treatment


def test_a_doublet_on_a_frail_only_row_is_for_frail_patients_only(tmp_path):
    copy = _copy(tmp_path)
    _edit(copy, "regimens.yaml", lambda d: d["regimens"]["Kd"].update(seeds=["S2", "S3"]))
    _edit(copy, "rules.yaml", lambda d: next(r for r in d["rows"] if r["id"] == "R5")["list"].insert(0, "Kd"))

    def doses(data):
        data["doses"]["carfilzomib"]["standard_in"].append("Kd")
        data["doses"]["dexamethasone"]["regimens"]["Kd"] = {"value": 20, "frequency": 6, "period": 28,
                                                            "schedule": "on carfilzomib days"}
    _edit(copy, "doses.yaml", doses)
    with coverage.recording() as recorder:
        kb = build_knowledge_base(copy)
        fit = _treatment(kb, refractory_to=("lenalidomide",))
        frail = _treatment(kb, refractory_to=("lenalidomide",), ecog=2)
    excluded = {e.regimen_id: e for e in fit.exclusions}
    assert excluded["Kd"].rule_id == "H4"
    assert excluded["Kd"].reason.text == "Kd is a doublet: only for frail patients in R5"
    assert frail.recommended.regimen_id == "Kd"
    assert ("cards.yaml: cards.exclusions", "frail_only_doublet") in recorder.reads


def test_combinations_need_the_knowledge_base_s_number_of_active_agents(tmp_path):
    copy = _copy(tmp_path)
    _edit(copy, "rules.yaml", lambda d: d["hard_rules"].update(min_non_refractory_agents=3))
    with coverage.recording() as recorder:
        kb = build_knowledge_base(copy)
        treatment = _treatment(kb)
    assert treatment.list_emptied  # every triplet of R6 has two agents besides dexamethasone
    assert {e.rule_id for e in treatment.exclusions} == {"H4"}
    assert "DRd has fewer than 3 agents the patient is not refractory to" in [e.reason.text for e in treatment.exclusions]
    assert ("cards.yaml: cards.exclusions", "too_few_active_agents") in recorder.reads
