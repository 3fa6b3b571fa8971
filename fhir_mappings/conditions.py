"""Condition-based findings: myeloma, PCL, EMD (02 §2.1), heart failure, neuropathy, VTE history,
dialysis (02 §2.8). The index has already dropped refuted and entered-in-error Conditions.

How one Condition is read for one finding, in order:
1. a code of the finding (codes.json, value_sets.json inclusions) makes it the finding;
2. a code that names the finding only to deny it (value_sets.json exclusions: ICD-10-CM I11.9
   "Hypertensive heart disease without heart failure", SNOMED 77970009 ...) makes it not the
   finding, whatever its display text says: the coded condition beats its words;
3. otherwise a phrase of the finding in ``code.text`` / ``coding.display`` counts when the words
   around it do not take it back (``fhir_mappings.qualifiers``: "without heart failure", "denies
   neuropathy", "not on dialysis", "DVT ruled out", "family history of myeloma"); which
   qualifiers still count is the finding's own (a history of DVT is VTE history, a history of
   dialysis is not dialysis now). Evidence from words says so.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fhir_mappings.dates import parse_date, period_start
from fhir_mappings.facts import Evidence, Finding
from fhir_mappings.index import ResourceIndex
from fhir_mappings.qualifiers import AFFIRMED, AFFIRMED_OR_PAST, EVER, Qualifier, affirmed_text
from fhir_mappings.terminology import Codes, ConceptMatcher, concept_codings, concept_texts

# Conditions that no longer apply do not make a current finding (heart failure, neuropathy,
# dialysis); history findings (VTE) and the diagnosis itself count whatever the status.
_INACTIVE = frozenset({"resolved", "inactive", "remission"})
# "Hemodialysis" and "haemodialysis" name dialysis inside one word, so no left word boundary.
_DIALYSIS_TEXT = re.compile(r"dialysis|end[\s-]stage\s+renal", re.IGNORECASE)
TEXT_EVIDENCE_SUFFIX = " (recognised from the text, not a code)"
# Which qualifiers of a phrase still make each finding (fhir_mappings.qualifiers).
ACCEPT: dict[str, frozenset[Qualifier]] = {
    "multiple_myeloma": EVER,  # "history of multiple myeloma" is the patient's myeloma
    "plasma_cell_leukemia": EVER,
    "extramedullary": EVER,
    "heart_failure": AFFIRMED_OR_PAST,  # a history of heart failure still counts, "resolved" not
    "peripheral_neuropathy": AFFIRMED_OR_PAST,
    "vte_history": EVER,  # a history finding
    "dialysis": AFFIRMED,  # on dialysis now
}

Reading = Literal["code", "text"]


def condition_label(condition: dict[str, Any]) -> str:
    concept = condition.get("code")
    text = next(concept_texts(concept), None)
    if text:
        return text[:80]
    return next((code for _system, code in concept_codings(concept)), "condition")


def condition_date(condition: dict[str, Any]):
    return (parse_date(condition.get("onsetDateTime")) or period_start(condition.get("onsetPeriod"))
            or parse_date(condition.get("recordedDate")))


def condition_evidence(condition: dict[str, Any], reading: Reading = "code") -> Evidence:
    rid = condition.get("id")
    label = condition_label(condition)
    text = label + TEXT_EVIDENCE_SUFFIX if reading == "text" else label
    return Evidence("Condition", rid if isinstance(rid, str) else "", condition_date(condition), text, label)


def is_active(condition: dict[str, Any]) -> bool:
    statuses = {code for _system, code in concept_codings(condition.get("clinicalStatus"))}
    return not statuses & _INACTIVE


def read(matcher: ConceptMatcher, concept: Any, accept: frozenset[Qualifier] = EVER,
         text: re.Pattern[str] | None = None, not_when: re.Pattern[str] | None = None) -> Reading | None:
    """How ``concept`` is this condition: by "code", by "text", or not (None). ``text`` replaces
    the matcher's phrases; ``not_when`` names look-alike phrases that are another disease."""
    if matcher.matches_code(concept):
        return "code"
    if matcher.excluded_by_code(concept):
        return None
    texts = list(concept_texts(concept))
    if not texts or (not_when is not None and any(not_when.search(t) for t in texts)):
        return None
    return "text" if affirmed_text(text or matcher.text, texts, accept) is not None else None


def matches(matcher: ConceptMatcher, concept: Any, accept: frozenset[Qualifier] = EVER) -> bool:
    """A code match, or a phrase match in words that do not take it back."""
    return read(matcher, concept, accept) is not None


def find(index: ResourceIndex, matcher: ConceptMatcher, active_only: bool = False,
         not_when: re.Pattern[str] | None = None, accept: frozenset[Qualifier] = EVER,
         text: re.Pattern[str] | None = None) -> Finding:
    """Conditions that are this finding (see the module docstring)."""
    evidence: list[Evidence] = []
    for condition in index.of_type("Condition"):
        if active_only and not is_active(condition):
            continue
        reading = read(matcher, condition.get("code"), accept, text, not_when)
        if reading is not None:
            evidence.append(condition_evidence(condition, reading))
    return Finding(bool(evidence), tuple(evidence))


def find_kind(index: ResourceIndex, codes: Codes, kind: str, active_only: bool = False,
              not_when: re.Pattern[str] | None = None) -> Finding:
    """``find`` for a codes.json condition kind, with the kind's accepted qualifiers."""
    return find(index, codes.condition(kind), active_only, not_when, ACCEPT.get(kind, EVER))


# "Extramedullary haematopoiesis" is blood formation outside the marrow, not myeloma outside it.
NOT_EXTRAMEDULLARY_DISEASE = re.compile(r"extramedullary\s+(?:ha?ematopoiesis|hemopoiesis)", re.IGNORECASE)


def dialysis(index: ResourceIndex, codes: Codes) -> Finding:
    return find(index, codes.condition("dialysis"), active_only=True, accept=ACCEPT["dialysis"],
                text=_DIALYSIS_TEXT)
