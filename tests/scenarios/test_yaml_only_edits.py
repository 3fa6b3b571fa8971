"""The knowledge base's promise: clinical changes are YAML-only. On a temporary copy, each edit a
haematologist would make — swap R5's first two regimens, add a regimen from known drugs to a row,
add a new drug with a new supportive need, change the refractory and a recency window — takes
effect, needs no Python, and leaves every scenario and persona green once the scenarios say what
the clinician now expects (done here as the clinician would after `rrmm-cds kb check`: the new
answers of the changed scenarios accepted, the sentences restating a changed number edited).
The copy then still loads, is fully read (coverage) and keeps the hard rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kb_copies import edit_yaml as edit
from kb_copies import kb_copy
from scenarios.kb_runs import recorded_run, run_all

from cds_service.scenarios import load_scenarios, run, scenario_dir
from cds_service.scenarios.models import Patient
from cds_service.scenarios.outcome import outcome
from clinical_rules.kb import KnowledgeBase, KnowledgeBaseError, build_knowledge_base
from clinical_rules.kbmodel import coverage

# Outcome keys a clinician accepts as the new answer after reviewing what changed.
ACCEPTABLE = ("row", "list_row", "options", "recommended", "excluded", "modifier", "notes", "disagreements",
              "supportive", "supportive_drugs", "doses", "cards", "indicators", "data_gaps", "findings", "fixes")


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    return kb_copy(tmp_path)


def replace_text(directory: Path, old: str, new: str) -> None:
    for path in scenario_dir(directory).glob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def accept_new_answers(directory: Path, kb: KnowledgeBase) -> list[str]:
    """Set each failing scenario's failing expectations to what the edited KB now gives."""
    accepted = []
    for path in sorted(scenario_dir(directory).glob("*.yaml")):
        if path.name == "personas.yaml":
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for raw, scenario in zip(data["scenarios"], load_scenarios_of(path), strict=True):
            result = run(scenario, kb)
            for problem in result.problems:
                key = problem.split(":", 1)[0]
                assert key in ACCEPTABLE, f"{scenario.id}: {problem}"
                raw["expect"][key] = _yaml_value(outcome(scenario, kb)[key])
                accepted.append(f"{scenario.id}.{key}")
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")
    return accepted


def load_scenarios_of(path: Path) -> list:
    from cds_service.scenarios import _read
    from cds_service.scenarios.models import ScenarioFile

    return list(_read(path, ScenarioFile).scenarios)  # type: ignore[attr-defined]


def accept_persona_regimen(directory: Path, personas: list[str], drugs: tuple[str, ...]) -> None:
    def change(data: dict) -> None:
        for persona in personas:
            data["personas"][persona]["expect"]["patient-view"]["recommended"] = list(drugs)
    edit(directory / "scenarios", "personas.yaml", change)


def _yaml_value(value: Any) -> Any:
    return [_yaml_value(v) for v in value] if isinstance(value, tuple) else value


def assert_all_green(directory: Path) -> KnowledgeBase:
    kb, reads, results = recorded_run(directory)
    assert [r.scenario.id for r in results if not r.passed] == []
    _, personas = run_all(kb, directory)
    assert [(p.persona, p.hook, p.problems) for p in personas if p.problems] == []
    assert coverage.unread(kb.document, reads) == []
    return kb


def load_scenario(scenario_id: str, directory: Path | None = None):
    return next(s for s in load_scenarios(directory) if s.id == scenario_id)


def test_swap_the_first_two_regimens_of_r5(copy):
    def swap(data: dict) -> None:
        r5 = next(row for row in data["rows"] if row["id"] == "R5")
        r5["list"].remove("BVd")  # (needs two prior lines: not in force for the one-line scenario)
        r5["list"][0], r5["list"][1] = r5["list"][1], r5["list"][0]

    edit(copy, "rules.yaml", swap)
    kb = build_knowledge_base(copy)
    first = kb.row("R5").list[0]
    assert outcome(load_scenario("r5-len-refractory-gets-dvd"), kb)["recommended"] == first  # in force at once
    accepted = accept_new_answers(copy, kb)
    assert "r5-len-refractory-gets-dvd.recommended" in accepted
    accept_persona_regimen(copy, ["len-refractory", "plasma-cell-leukaemia"], kb.regimens[first].drugs)
    assert_all_green(copy)


def test_add_a_regimen_from_known_drugs_to_a_row_needs_its_doses(copy):
    def add_kcd(data: dict) -> None:
        data["regimens"]["KCd"] = {"drugs": ["carfilzomib", "cyclophosphamide", "dexamethasone"], "kind": "triplet",
                                   "seeds": ["S4"], "evidence": ["KCd: carfilzomib with cyclophosphamide (S4)."]}

    def list_it(data: dict) -> None:
        next(row for row in data["rows"] if row["id"] == "R3")["list"].insert(2, "KCd")  # after KPd, BVd

    edit(copy, "regimens.yaml", add_kcd)
    edit(copy, "rules.yaml", list_it)
    with pytest.raises(KnowledgeBaseError) as refused:  # never the generic doses silently
        build_knowledge_base(copy)
    for drug in ("carfilzomib", "cyclophosphamide", "dexamethasone"):
        assert f"the dose of {drug} in KCd must be chosen in doses.yaml" in str(refused.value)

    def doses(data: dict) -> None:
        d = data["doses"]
        d["carfilzomib"]["standard_in"].append("KCd")
        d["cyclophosphamide"]["regimens"]["KCd"] = {"value": 300, "unit": "mg/m2", "frequency": 3, "period": 28,
                                                    "schedule": "orally on days 1, 8 and 15 of each 28-day cycle"}
        d["dexamethasone"]["regimens"]["KCd"] = {"value": 20, "frequency": 8, "period": 28,
                                                 "schedule": "on days 1, 2, 8, 9, 15, 16, 22 and 23 of each 28-day cycle"}

    edit(copy, "doses.yaml", doses)
    kb = build_knowledge_base(copy)
    kcd = outcome(load_scenario("r3-len-refractory-anti-cd38-refractory-gets-kpd"), kb)
    assert kcd["options"][:2] == ["KPd", "KCd"]
    accept_new_answers(copy, kb)
    assert_all_green(copy)
    # Heart failure passes over the new carfilzomib regimen like the others (H5).
    scenario = load_scenario("r3-len-refractory-anti-cd38-refractory-gets-kpd").model_copy(
        update={"patient": Patient(refractory_to=("lenalidomide", "daratumumab"), findings=("heart_failure",))})
    assert outcome(scenario, kb)["recommended"] == "PVd"  # H5 passes over both carfilzomib regimens


def test_add_a_new_drug_with_a_new_supportive_need(copy):
    edit(copy, "drugs.yaml", lambda d: d.update(drug_additions=[
        {"generic": "iberdomide", "rxnorm": None, "brands": [], "synonyms": [], "classes": ["CELMoD"],
         "role": "antimyeloma"}]))

    def need(data: dict) -> None:
        data["supportive_care"]["blood-count-monitoring"] = {
            "label": "Blood count monitoring with iberdomide", "rule_id": "SC-CBC", "seeds": ["label"],
            "trigger_classes": ["CELMoD"], "services": ["cbc"],
            "reason": "CELMoD agents cause neutropenia: weekly blood counts in the first cycles (label)",
            "order_facts": []}
        data["services"]["cbc"] = {"system": "http://loinc.org", "code": "58410-2",
                                   "display": "CBC panel - Blood by Automated count"}

    edit(copy, "supportive.yaml", need)

    def scenario(data: dict) -> None:
        data["scenarios"].append({
            "id": "iberdomide-drafted-asks-for-blood-counts", "about": "a new drug with its own supportive need",
            "hook": "order-sign", "patient": {"ecog": 2, "taking": ["aspirin", "acyclovir"]},
            "drafts": [{"text": "iberdomide 1.6 mg capsule", "dose": 1.6}, {"drug": "dexamethasone", "dose": 20,
                                                                             "period_unit": "wk"}],
            "expect": {"findings": ["SC-DRAFTED"], "fixes": {"SC-DRAFTED": [{"kind": "create", "drug": "58410-2"}]},
                       "texts": ["CELMoD agents cause neutropenia"]}})

    edit(copy / "scenarios", "orders.yaml", scenario)
    assert_all_green(copy)


def test_change_the_refractory_window_and_a_recency_window(copy):
    record = "record-lenalidomide-stopped-45-days-before-progression"
    edit(copy, "derivation.yaml", lambda d: d["derivation_parameters"].update(
        refractory_window_days=30, creatinine_recent_days=60))
    kb = build_knowledge_base(copy)
    changed = outcome(load_scenario(record), kb)
    assert changed["row"] == "R6"  # 45 days after the last dose is now outside the window: sensitive
    assert "no-recent-creatinine" in changed["data_gaps"]  # the creatinine of 71 days ago no longer counts
    assert "within 60 days" in changed["text"] and "within 90 days" not in changed["text"]  # the text follows
    # The clinician's sentences restating the window follow it too, then the new answers are accepted.
    replace_text(copy, "no creatinine in 90 days", "no creatinine in 60 days")
    replace_text(copy, '"refractory to lenalidomide (progression 2025-12-30)", "CrCl 91 mL/min (Cockcroft–Gault)"', "")
    accept_new_answers(copy, kb)
    assert_all_green(copy)
