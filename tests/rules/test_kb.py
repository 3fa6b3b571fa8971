"""The knowledge base loads, is cached, agrees with the terminology, and a broken one is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from clinical_rules.kb import KB_DIR, KnowledgeBaseError, load_knowledge_base

DRUGS_JSON = Path(__file__).resolve().parents[2] / "fhir_mappings" / "data" / "drugs.json"


def test_packaged_kb_is_valid_versioned_and_cached(kb):
    assert kb.version == "2026.1"
    assert load_knowledge_base() is kb
    assert kb.source_label == "RRMM relapse guidance · KB 2026.1"


def test_kb_drugs_match_the_terminology_table(kb):
    table = {d["generic"]: d for d in json.loads(DRUGS_JSON.read_text())["drugs"]}
    for generic, entry in kb.drugs.items():
        assert generic in table, f"{generic} is not in drugs.json"
        assert entry["rxnorm"] == table[generic]["rxnorm"], generic
        assert entry["classes"] == table[generic]["classes"], generic


def test_every_regimen_drug_has_a_starting_dose(kb):
    for regimen in kb.regimens.values():
        for drug in regimen["drugs"]:
            assert drug in kb.doses


def test_decision_log_records_every_spec_departure(kb):
    topics = " ".join(entry["topic"].lower() + " " + entry["decision"].lower() for entry in kb.decision_log)
    for must in ("salvage asct", "maintenance", "teclistamab", "optimismm", "melphalan flufenamide",
                 "panobinostat", "belantamab", "frail", "zoster", "thrombo", "fish", "car-t", "91.3"):
        assert must in topics or must in json.dumps(kb.decision_log).lower(), must


def test_withdrawn_products_are_in_no_regimen(kb):
    withdrawn = set(kb.hard_rules["withdrawn"]) | set(kb.hard_rules["not_in_rule_set"])
    assert {"melphalan flufenamide", "panobinostat", "belantamab mafodotin"} <= withdrawn
    for regimen in kb.regimens.values():
        assert not withdrawn & set(regimen["drugs"])


def test_regimen_evidence_never_shows_the_unverified_orr(kb):
    text = json.dumps(kb.regimens)
    assert "91.3" not in text
    assert "CASTOR" in " ".join(kb.regimens["DVd"]["evidence"])


@pytest.fixture()
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KB_DIR, target)
    return target


def _edit(directory: Path, filename: str, change) -> None:
    path = directory / filename
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def test_copy_of_the_kb_loads(kb_copy):
    assert load_knowledge_base(kb_copy).version == "2026.1"


@pytest.mark.parametrize(
    ("filename", "change", "expected"),
    [
        ("manifest.yaml", lambda d: d.pop("version"), "'version' is a required property"),
        ("doses.yaml", lambda d: d["doses"]["lenalidomide"]["standard"].update(unit="milligram"), "doses/lenalidomide/standard/unit"),
        ("rules.yaml", lambda d: d["rows"][0]["list"].append("XYZd"), "rows/R1/list: unknown regimen 'XYZd'"),
        ("regimens.yaml", lambda d: d["regimens"]["DRd"]["drugs"].append("panobinostat"), "withdrawn product"),
        ("regimens.yaml", lambda d: d["regimens"]["KRd"].update(seeds=["S9"]), "regimens/KRd/seeds/0"),
        ("rules.yaml", lambda d: d["hard_rules"].pop("xd_label"), "'xd_label' is a required property"),
        ("supportive.yaml", lambda d: d["supportive_care"][0].update(options=["heparinoid"]), "no dose for option 'heparinoid'"),
        ("cards.yaml", lambda d: d["cards"]["treatment"].pop("high_risk_note"), "cards/treatment: 'high_risk_note'"),
        ("cards.yaml", lambda d: d["cards"]["override_reasons"].update(data_gap=["because"]), "'because' is not in override_reasons"),
    ],
)
def test_broken_kb_is_refused_with_a_clear_message(kb_copy, filename, change, expected):
    _edit(kb_copy, filename, change)
    with pytest.raises(KnowledgeBaseError) as raised:
        load_knowledge_base(kb_copy)
    assert expected in str(raised.value)
    assert str(kb_copy) in str(raised.value)


def test_invalid_yaml_names_the_file(kb_copy):
    (kb_copy / "rules.yaml").write_text("rows: [unclosed\n")
    with pytest.raises(KnowledgeBaseError, match="rules.yaml: not valid YAML"):
        load_knowledge_base(kb_copy)


def test_a_key_defined_in_two_files_is_refused(kb_copy):
    (kb_copy / "extra.yaml").write_text("version: '2026.2'\n")
    with pytest.raises(KnowledgeBaseError, match="defined in two files"):
        load_knowledge_base(kb_copy)


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="not found"):
        load_knowledge_base(tmp_path / "nowhere")


def test_the_service_refuses_to_start_on_an_invalid_kb(kb_copy, monkeypatch):
    from cds_service.app import create_app
    from cds_service.config import Settings

    _edit(kb_copy, "rules.yaml", lambda d: d["rows"][0].pop("state"))
    monkeypatch.setattr("clinical_rules.kb.KB_DIR", kb_copy)
    with pytest.raises(KnowledgeBaseError, match="rows/0: 'state' is a required property"):
        create_app(Settings(database_url="sqlite://"))
