"""``rrmm-cds kb``: the clinician-readable summary, ``kb check`` and ``kb schema``."""

from __future__ import annotations

import json
import shutil

import yaml

from cds_service.cli import main
from clinical_rules.kb import KB_DIR


def test_kb_prints_rows_values_in_force_doses_and_decision_log(capsys):
    assert main(["kb"]) == 0
    out = capsys.readouterr().out
    assert "knowledge base 2026.2" in out
    assert "R6  not lenalidomide-refractory, first relapse, anti-CD38 naive" in out
    assert "frail: IRd, DRd, ERd" in out
    assert "refractory_window_days                 60" in out  # the derivation value in force
    assert "renal (CrCl < 60): CrCl {crcl_from}–<{crcl_below} mL/min: {value} mg {timing}" in out
    assert "DECISION LOG" in out and "Belantamab mafodotin" in out


def test_kb_decisions_only(capsys):
    assert main(["kb", "--decisions"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("DECISION LOG") and "REGIMENS" not in out


def test_kb_path_reports_an_invalid_copy(tmp_path, capsys):
    copy = tmp_path / "kb"
    shutil.copytree(KB_DIR, copy)
    (copy / "manifest.yaml").write_text("version: 'next'\ntitle: x\nsources: {}\n")
    assert main(["kb", "--path", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "invalid knowledge base" in err and "manifest.yaml: version" in err


def test_kb_check_passes_on_the_packaged_kb(capsys):
    assert main(["kb", "check", "--only", "r5-len-refractory-gets-dvd", "len-refractory"]) == 0
    out = capsys.readouterr().out
    assert "PASS r5-len-refractory-gets-dvd" in out and "PASS persona len-refractory patient-view" in out
    assert "0 failed" in out


def test_kb_check_says_which_scenarios_fail_and_changed(tmp_path, capsys):
    copy = tmp_path / "kb"
    shutil.copytree(KB_DIR, copy)
    rules = yaml.safe_load((copy / "rules.yaml").read_text())
    r5 = next(row for row in rules["rows"] if row["id"] == "R5")
    first, dpd = 0, r5["list"].index("DPd")  # DVd and DPd (BVd between them needs two prior lines)
    r5["list"][first], r5["list"][dpd] = r5["list"][dpd], r5["list"][first]
    (copy / "rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    assert main(["kb", "check", "--path", str(copy), "--only", "r5-len-refractory-gets-dvd",
                 "r6-first-relapse-gets-drd"]) == 1
    out = capsys.readouterr().out
    assert "FAIL r5-len-refractory-gets-dvd: options: expected" in out
    assert 'changed recommended: "DVd" -> "DPd"' in out
    assert "PASS r6-first-relapse-gets-drd" in out


def test_kb_schema_writes_one_schema_per_file(tmp_path, capsys):
    assert main(["kb", "schema", "--output", str(tmp_path)]) == 0
    rules = json.loads((tmp_path / "rules.schema.json").read_text())
    assert set(rules["required"]) >= {"rows", "hard_rules"} and rules["additionalProperties"] is False
    assert (tmp_path / "scenarios.schema.json").is_file()
