"""Condition-based findings: myeloma, PCL, EMD (02 §2.1), heart failure, neuropathy, VTE history,
dialysis (02 §2.8). The index has already dropped refuted and entered-in-error Conditions."""

from __future__ import annotations

import re
from typing import Any

from fhir_mappings.dates import parse_date, period_start
from fhir_mappings.facts import Evidence, Finding
from fhir_mappings.index import ResourceIndex
from fhir_mappings.terminology import Codes, ConceptMatcher, concept_codings, concept_texts

# Conditions that no longer apply do not make a current finding (heart failure, neuropathy,
# dialysis); history findings (VTE) and the diagnosis itself count whatever the status.
_INACTIVE = frozenset({"resolved", "inactive", "remission"})
# "Hemodialysis" and "haemodialysis" name dialysis inside one word, so no left word boundary.
_DIALYSIS_TEXT = re.compile(r"dialysis|end[\s-]stage\s+renal", re.IGNORECASE)
_DENIAL = re.compile(r"\bfamily\s+history\b|\bno\s+(?:history|evidence)\s+of\b|\brule[sd]?[\s-]out\b|\br/o\b|"
                     r"\bnegative\s+for\b|\bscreening\s+for\b", re.IGNORECASE)


def condition_label(condition: dict[str, Any]) -> str:
    concept = condition.get("code")
    text = next(concept_texts(concept), None)
    if text:
        return text[:80]
    return next((code for _system, code in concept_codings(concept)), "condition")


def condition_date(condition: dict[str, Any]):
    return (parse_date(condition.get("onsetDateTime")) or period_start(condition.get("onsetPeriod"))
            or parse_date(condition.get("recordedDate")))


def condition_evidence(condition: dict[str, Any]) -> Evidence:
    rid = condition.get("id")
    label = condition_label(condition)
    return Evidence("Condition", rid if isinstance(rid, str) else "", condition_date(condition), label, label)


def is_active(condition: dict[str, Any]) -> bool:
    statuses = {code for _system, code in concept_codings(condition.get("clinicalStatus"))}
    return not statuses & _INACTIVE


def text_denies(concept: Any) -> bool:
    """The Condition's own words say it is not the patient's disease ("family history of
    multiple myeloma", "no history of DVT", "rule out myeloma")."""
    return any(_DENIAL.search(t) for t in concept_texts(concept))


def matches(matcher: ConceptMatcher, concept: Any) -> bool:
    """A code match, or a phrase match in words that do not deny the condition."""
    return matcher.matches_code(concept) or (matcher.matches_text(concept) and not text_denies(concept))


def find(index: ResourceIndex, matcher: ConceptMatcher, active_only: bool = False,
         not_when: re.Pattern[str] | None = None) -> Finding:
    """Conditions matching ``matcher``; ``not_when`` names look-alike phrases that are another
    disease (a code match always counts)."""
    evidence = tuple(
        condition_evidence(c)
        for c in index.of_type("Condition")
        if (matcher.matches_code(c.get("code")) or (
            matches(matcher, c.get("code"))
            and not (not_when and any(not_when.search(t) for t in concept_texts(c.get("code"))))))
        and (not active_only or is_active(c))
    )
    return Finding(bool(evidence), evidence)


# "Extramedullary haematopoiesis" is blood formation outside the marrow, not myeloma outside it.
NOT_EXTRAMEDULLARY_DISEASE = re.compile(r"extramedullary\s+(?:ha?ematopoiesis|hemopoiesis)", re.IGNORECASE)


def dialysis(index: ResourceIndex, codes: Codes) -> Finding:
    matcher = codes.condition("dialysis")
    evidence: list[Evidence] = []
    for condition in index.of_type("Condition"):
        concept = condition.get("code")
        if not is_active(condition):
            continue
        if matcher.matches_code(concept) or (
            any(_DIALYSIS_TEXT.search(t) for t in concept_texts(concept)) and not text_denies(concept)
        ):
            evidence.append(condition_evidence(condition))
    return Finding(bool(evidence), tuple(evidence))
