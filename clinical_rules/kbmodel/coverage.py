"""Which knowledge-base values the rules actually read: a knowledge base that shows a clinician a
value it does not apply is a safety defect, so the coverage check runs every scenario and persona
with a recorder on and reports every key nothing read.

Recording is off in service: :func:`recording` installs the recorder on the model base class for
the duration of the check only, so the service pays nothing for it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from clinical_rules.kbmodel import base
from clinical_rules.kbmodel.base import KBDict, KBModel

# Prose kept for the reader (titles, the decision log's wording): documentation, never applied.
DOC_ONLY: dict[str, str] = {
    "decision_log.yaml: *.id": "decision-log entries are read where a rule names them (withdrawn, work-up)",
    "decision_log.yaml: *.topic": "decision-log prose for the clinical reviewer",
    "decision_log.yaml: *.seeds": "decision-log prose (entries named by a rule are read where they are named)",
    "decision_log.yaml: *.decision": "decision-log prose (entries named by a rule are read where they are named)",
    "manifest.yaml: *.title": "a source's full title, for the reviewer (`rrmm-cds kb`); cards cite its short name",
}


# Texts of rules in force that no 2026.1 list can trigger; each is read once the knowledge base is
# edited so that the rule applies (tests/rules/test_kb_guards.py makes those edits on a copy).
GUARDED: dict[str, str] = {
    "cards.yaml: cards.exclusions.frail_only_doublet":
        "H4's doublet rule: no list of R3–R9 holds a doublet in 2026.1",
    "cards.yaml: cards.exclusions.too_few_active_agents":
        "H4's agent count: after H1 every listed combination keeps the 2 it needs",
    "cards.yaml: cards.overflow*":
        "the summary card of a response over RRMM_CDS_MAX_CARDS cards (tests/resilience/test_amplification.py)",
}


class Recorder:
    def __init__(self) -> None:
        self.reads: set[tuple[str, str]] = set()
        self.paused = 0

    def note(self, path: str, key: str) -> None:
        if not self.paused:
            self.reads.add((path, key))


def active() -> Recorder | None:
    """The recorder while the coverage check runs, else None."""
    return base.RECORDER


def _recording_getattribute(self: KBModel, name: str) -> Any:
    values = object.__getattribute__(self, "__dict__")
    recorder = base.RECORDER
    if name in values and recorder is not None and not recorder.paused:
        recorder.reads.add((object.__getattribute__(self, "__pydantic_private__")["_path"], name))
    return object.__getattribute__(self, name)


@contextmanager
def recording() -> Iterator[Recorder]:
    """Record every field and mapping key read until the block ends."""
    recorder = Recorder()
    base.RECORDER = recorder
    KBModel.__getattribute__ = _recording_getattribute  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        base.RECORDER = None
        del KBModel.__getattribute__


@contextmanager
def unrecorded() -> Iterator[None]:
    """Reads that check the knowledge base (cross references, printing) rather than apply it."""
    recorder = base.RECORDER
    if recorder is not None:
        recorder.paused += 1
    try:
        yield
    finally:
        if recorder is not None:
            recorder.paused -= 1


def written_keys(document: KBModel) -> set[tuple[str, str]]:
    """Every key the YAML sets: (entry location, field) for models, (mapping, key) for mappings
    of plain values. Model entries of a mapping are judged by their own fields."""
    from clinical_rules.kbmodel.loading import entries

    keys: set[tuple[str, str]] = set()
    with unrecorded():
        for node, path in entries(document):
            if node is document:
                continue
            if isinstance(node, KBModel):
                keys |= {(path, name) for name in node.model_fields_set}
            elif isinstance(node, KBDict):
                keys |= {(path, key) for key, value in node.items() if not isinstance(value, KBModel)}
    return keys


def unread(document: KBModel, reads: set[tuple[str, str]], exempt: dict[str, str] | None = None) -> list[str]:
    """The keys the YAML sets that nothing read, minus the documentation-only and guarded ones
    (``exempt``: patterns, by default DOC_ONLY and GUARDED), sorted."""
    patterns = {**DOC_ONLY, **GUARDED} if exempt is None else exempt
    missing = []
    for path, key in sorted(written_keys(document) - reads):
        where = f"{path}.{key}"
        if not any(fnmatch.fnmatchcase(where, pattern) for pattern in patterns):
            missing.append(where)
    return missing
