"""Every value in the knowledge base is read: the coverage check loads the KB with a recorder on,
runs every scenario and persona, and fails on any key nothing read (documentation-only prose and
guarded texts excepted, each listed with its reason in clinical_rules/kbmodel/coverage.py)."""

from __future__ import annotations

import fnmatch

import pytest
from kb_copies import edit_yaml, kb_copy
from scenarios.kb_runs import recorded_run

from clinical_rules.kb import KB_DIR
from clinical_rules.kbmodel import coverage


@pytest.fixture(scope="module")
def packaged():
    return recorded_run(KB_DIR)


def test_every_kb_key_is_read_by_a_scenario_or_persona(packaged):
    kb, reads, results = packaged
    assert all(r.passed for r in results)
    assert coverage.unread(kb.document, reads) == []


def test_the_exemptions_are_few_and_match_something(packaged):
    kb, reads, _ = packaged
    unexempted = set(coverage.unread(kb.document, reads, exempt={}))
    for pattern in (*coverage.DOC_ONLY, *coverage.GUARDED):
        assert any(fnmatch.fnmatchcase(key, pattern) for key in unexempted), \
            f"exemption {pattern!r} matches no unread key: remove it"
    assert len(coverage.GUARDED) <= 3


@pytest.mark.parametrize(
    ("filename", "change", "unread"),
    [
        ("order_checks.yaml", lambda d: d["override_reasons"].update({"never-offered": "Never offered by a check"}),
         "order_checks.yaml: override_reasons.never-offered"),
        ("regimens.yaml", lambda d: d["regimens"]["Kd"].update(notes=["A note no card ever shows."]),
         "regimens.yaml: Kd.notes"),
        ("supportive.yaml", lambda d: d["services"].update(
            {"bone-scan": {"system": "http://snomed.info/sct", "code": "41747008", "display": "Bone scan"}}),
         "supportive.yaml: bone-scan.code"),
    ],
)
def test_an_unread_key_fails_the_check(tmp_path, filename, change, unread):
    copy = kb_copy(tmp_path)
    edit_yaml(copy, filename, change)
    kb, reads, _ = recorded_run(copy)
    assert unread in coverage.unread(kb.document, reads)


def test_recording_is_off_outside_the_check():
    from clinical_rules.kbmodel.base import KBModel

    assert coverage.active() is None
    assert "__getattribute__" not in KBModel.__dict__
