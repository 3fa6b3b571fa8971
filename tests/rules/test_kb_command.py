"""``rrmm-cds kb``: the clinician-readable summary and decision log."""

from __future__ import annotations

import shutil

from cds_service.cli import main
from clinical_rules.kb import KB_DIR


def test_kb_prints_summary_rows_doses_and_decision_log(capsys):
    assert main(["kb"]) == 0
    out = capsys.readouterr().out
    assert "knowledge base 2026.1" in out
    assert "R6  not lenalidomide-refractory, first relapse, anti-CD38 naive" in out
    assert "frail: IRd, DRd, ERd" in out
    assert "renal (CrCl < 60): CrCl 30–<60 mL/min: 10 mg daily" in out
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
    assert "invalid knowledge base" in err and "version" in err
