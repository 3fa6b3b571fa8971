"""The knowledge base loads typed, cached and consistent; a broken one is refused with the file,
the entry and the field ("rules.yaml: R3.when: unknown fact 'anti_cd38_exposd'")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kb_copies import edit_yaml as edit
from kb_copies import kb_copy as copy_of_the_kb

from clinical_rules.kb import KB_DIR, KnowledgeBaseError, build_knowledge_base, load_knowledge_base
from clinical_rules.kbmodel.document import FILES
from fhir_mappings.parameters import DerivationParameters

DRUGS_JSON = Path(__file__).resolve().parents[2] / "fhir_mappings" / "data" / "drugs.json"


def test_packaged_kb_is_valid_versioned_and_cached(kb):
    assert kb.version == "2026.2"
    assert load_knowledge_base() is kb
    assert kb.source_label == f"RRMM relapse guidance · KB {kb.version}"


def test_the_kb_reads_classes_and_codes_from_the_one_drug_catalogue(kb):
    table = {d["generic"]: d for d in json.loads(DRUGS_JSON.read_text())["drugs"]}
    for regimen in kb.regimens.values():
        for drug in regimen.drugs:
            assert kb.classes_of(drug) == tuple(table[drug]["classes"])
            assert kb.rxnorm_of(drug) == table[drug]["rxnorm"]


def test_the_derivation_parameters_in_force_are_the_kb_values(kb):
    section = kb.document.derivation_parameters
    for name in DerivationParameters.__dataclass_fields__:
        value = getattr(kb.parameters, name)
        assert value == (tuple(getattr(section, name)) if isinstance(value, tuple) else getattr(section, name)), name


def test_decision_log_records_every_spec_departure(kb):
    text = json.dumps([e.model_dump() for e in kb.document.decision_log]).lower()
    for must in ("salvage asct", "maintenance", "teclistamab", "optimismm", "melphalan flufenamide",
                 "panobinostat", "belantamab", "frail", "zoster", "thrombo", "fish", "car-t", "91.3"):
        assert must in text, must


def test_withdrawn_products_name_their_decision(kb):
    for drug, decision in {**kb.hard_rules.withdrawn, **kb.hard_rules.not_in_rule_set}.items():
        assert drug in kb.catalog and decision in kb.decisions


def test_regimen_texts_never_show_the_unverified_orr(kb):
    texts = [t.source for r in kb.regimens.values() for t in (*r.notes, *r.evidence)]
    assert not any("91.3" in t for t in texts)
    assert any("CASTOR" in t for t in (e.source for e in kb.regimens["DVd"].evidence))


# -- broken copies ---------------------------------------------------------------------------------
@pytest.fixture()
def kb_copy(tmp_path: Path) -> Path:
    return copy_of_the_kb(tmp_path)


def test_copy_of_the_kb_loads(kb_copy):
    assert build_knowledge_base(kb_copy).version == "2026.2"


def _row(data: dict, row_id: str) -> dict:
    return next(row for row in data["rows"] if row["id"] == row_id)


@pytest.mark.parametrize(
    ("filename", "change", "expected"),
    [
        ("rules.yaml", lambda d: _row(d, "R3")["when"].update(anti_cd38_exposd=True),
         "rules.yaml: R3.when: unknown fact 'anti_cd38_exposd'"),
        ("rules.yaml", lambda d: _row(d, "R3")["when"].update(min_prior_lines="two"),
         "rules.yaml: R3.when: min_prior_lines is a count"),
        ("rules.yaml", lambda d: _row(d, "R1")["list"].append("XYZd"), "rules.yaml: R1.list: unknown regimen 'XYZd'"),
        ("rules.yaml", lambda d: _row(d, "R5").pop("state"), "rules.yaml: R5: missing field 'state'"),
        ("rules.yaml", lambda d: _row(d, "R1").update(referral="lines-of-4"), "rules.yaml: R1.referral: unknown referral reason"),
        ("rules.yaml", lambda d: d["hard_rules"].update(pi_refractory_excludes=["ixazomibe"]),
         "rules.yaml: hard_rules.pi_refractory_excludes: unknown drug 'ixazomibe'"),
        ("manifest.yaml", lambda d: d.pop("version"), "manifest.yaml: missing section 'version'"),
        ("doses.yaml", lambda d: d["doses"]["lenalidomide"]["standard"].update(unit="milligram"),
         "doses.yaml: lenalidomide.standard.unit"),
        ("doses.yaml", lambda d: d["doses"]["dexamethasone"]["standard_in"].remove("KRd"),
         "the dose of dexamethasone in KRd must be chosen in doses.yaml"),
        ("regimens.yaml", lambda d: d["regimens"]["DRd"]["drugs"].append("panobinostat"),
         "regimens.yaml: DRd.drugs: panobinostat is never suggested"),
        ("regimens.yaml", lambda d: d["regimens"]["KRd"].update(seeds=["S9"]), "regimens.yaml: KRd.seeds: unknown source 'S9'"),
        ("supportive.yaml", lambda d: d["supportive_care"]["vte-prophylaxis"].update(options=["heparinoid"]),
         "supportive.yaml: vte-prophylaxis.options: unknown drug 'heparinoid'"),
        ("cards.yaml", lambda d: d["cards"]["treatment"]["notes_when"].update({"high-risk": "High risk for {drugs}."}),
         "{drugs} is not filled by the check 'high-risk'"),
        ("cards.yaml", lambda d: d["cards"]["treatment"].update(summary="Relapse ({rows}): {regimen}"),
         "cards.yaml: cards.treatment.summary: unknown placeholder {rows}"),
        ("cards.yaml", lambda d: d["cards"]["salvage_transplant"].update(proxy="Eligible up to {derivation_parameters.max_age}"),
         "{derivation_parameters.max_age} names no knowledge-base value"),
        ("cards.yaml", lambda d: d["cards"]["data_gap"].update(override_reasons=["because"]),
         "cards.yaml: cards.data_gap.override_reasons: unknown override reason 'because'"),
        ("derivation.yaml", lambda d: d["derivation_parameters"].pop("refractory_window_days"),
         "derivation.yaml: derivation_parameters: missing field 'refractory_window_days'"),
        ("derivation.yaml", lambda d: d["derivation_parameters"].update(refractory_windw_days=30),
         "derivation.yaml: derivation_parameters: unknown field 'refractory_windw_days'"),
        ("data_gaps.yaml", lambda d: d["data_gaps"]["items"]["no-ecog"].update(when="no-ecgo"),
         "data_gaps.yaml: data_gaps.items.no-ecog: unknown check 'no-ecgo'"),
        ("order_checks.yaml", lambda d: d["order_checks"]["O3"].update(need="vte"),
         "order_checks.yaml: order_checks.O3.need: unknown supportive need 'vte'"),
        # D36: a drug whose dose a CrCl band decides is never drafted without asking for a creatinine.
        ("data_gaps.yaml", lambda d: d["data_gaps"]["dose_labs"]["renal-function"].update(drugs=["lenalidomide"]),
         "doses.yaml: ixazomib.renal: ixazomib has creatinine-clearance bands but is not in"),
        ("data_gaps.yaml", lambda d: d["data_gaps"]["dose_labs"].update(
            {"potassium": d["data_gaps"]["dose_labs"]["renal-function"]}),
         "data_gaps.yaml: data_gaps.dose_labs.potassium: unknown lab 'potassium'"),
        ("data_gaps.yaml", lambda d: d["data_gaps"]["dose_labs"]["renal-function"].update(decision="D99"),
         "data_gaps.yaml: data_gaps.dose_labs.renal-function.decision: unknown decision-log entry 'D99'"),
    ],
)
def test_broken_kb_is_refused_with_file_entry_and_field(kb_copy, filename, change, expected):
    edit(kb_copy, filename, change)
    with pytest.raises(KnowledgeBaseError) as raised:
        build_knowledge_base(kb_copy)
    assert expected in str(raised.value)
    assert str(kb_copy) in str(raised.value)


def test_invalid_yaml_names_the_file(kb_copy):
    (kb_copy / "rules.yaml").write_text("rows: [unclosed\n")
    with pytest.raises(KnowledgeBaseError, match="rules.yaml: not valid YAML"):
        build_knowledge_base(kb_copy)


def test_a_key_in_the_wrong_file_and_a_stray_file_are_refused(kb_copy):
    edit(kb_copy, "rules.yaml", lambda d: d.update(version="2026.2"))
    (kb_copy / "extra.yaml").write_text("title: x\n")
    with pytest.raises(KnowledgeBaseError) as raised:
        build_knowledge_base(kb_copy)
    assert "rules.yaml: top-level key 'version' belongs in manifest.yaml" in str(raised.value)
    assert "extra.yaml: not a knowledge-base file" in str(raised.value)


def test_every_file_holds_its_sections():
    for name, keys in FILES.items():
        data = yaml.safe_load((KB_DIR / name).read_text())
        assert list(data) == list(keys), name


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="not found"):
        load_knowledge_base(tmp_path / "nowhere")


def test_a_drug_added_to_the_catalogue_is_recognised(kb_copy):
    edit(kb_copy, "drugs.yaml", lambda d: d.update(drug_additions=[
        {"generic": "iberdomide", "classes": ["CELMoD"], "role": "antimyeloma", "brands": [{"name": "Ibero"}]}]))
    kb = build_knowledge_base(kb_copy)
    assert kb.classes_of("iberdomide") == ("CELMoD",)
    assert [d.generic for d in kb.catalog.identify_text("Ibero 1.6 mg capsule")] == ["iberdomide"]
    edit(kb_copy, "drugs.yaml", lambda d: d["drug_additions"][0].update(generic="lenalidomide"))
    with pytest.raises(KnowledgeBaseError, match="'lenalidomide' is already in the drug catalogue"):
        build_knowledge_base(kb_copy)


def test_the_service_refuses_to_start_on_an_invalid_kb(kb_copy, monkeypatch):
    from cds_service.app import create_app
    from cds_service.config import Settings

    edit(kb_copy, "rules.yaml", lambda d: _row(d, "R1").pop("state"))
    monkeypatch.setattr("clinical_rules.kb.KB_DIR", kb_copy)
    with pytest.raises(KnowledgeBaseError, match="rules.yaml: R1: missing field 'state'"):
        create_app(Settings(database_url="sqlite://"))


def test_s0_is_never_the_only_source_and_is_shown_for_what_it_is():
    """03 §8.3: S0 is an AI-generated summary pending human review; every row, regimen, dose,
    supportive measure, order check and card rule citing it cites another seed, label or trial."""
    from clinical_rules.kbmodel.loading import entries

    kb = load_knowledge_base()
    alone = [path for node, path in entries(kb.document)
             if isinstance(getattr(node, "seeds", None), tuple) and tuple(node.seeds) == ("S0",)]
    alone += [f"regimens.yaml: {rid}" for rid, regimen in kb.regimens.items() if regimen.seeds == ("S0",)]
    assert alone == []
    assert "AI-generated" in kb.sources["S0"].short and "pending human review" in kb.sources["S0"].title
