"""FISH cytogenetics (02 §2.7): structured results and narrative reports, respecting negation.

Structured: Observations coded with the FISH LOINC codes (or whose code text names one
abnormality) with a positive/negative answer. Narrative: any Observation text value or
DiagnosticReport conclusion mentioning an abnormality; within a sentence a mention is negative
when a negation cue precedes it ("no", "negative for", "without") or follows it ("not detected",
"negative", "absent"), positive when a positive cue does ("detected", "positive for", "in 40% of
nuclei"); a mention without its own cue inherits the polarity of the previous mention in the
sentence ("negative for del(17p) and t(4;14)"), and with none it is no result (unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir_mappings.dates import effective_date
from fhir_mappings.facts import (
    HIGH_RISK_ABNORMALITIES,
    CytogeneticAbnormality,
    CytogeneticResult,
    Evidence,
)
from fhir_mappings.index import ResourceIndex, listed
from fhir_mappings.terminology import Codes, concept_codings, concept_texts

_PATTERNS: dict[CytogeneticAbnormality, str] = {
    "del17p": r"del\s*\(\s*17\s*p[\d.]*\s*\)|del\s*17p|17p\s*(?:deletion|del\b|loss|-)|(?:deletion|loss)\s+(?:of\s+)?"
              r"(?:chromosome\s+)?17p|tp53\s+(?:deletion|loss)|monosomy\s*17\b|-17p",
    "t4_14": r"t\s*\(\s*4\s*;\s*14\s*\)|fgfr3\s*/\s*igh|igh\s*/\s*fgfr3",
    "t14_16": r"t\s*\(\s*14\s*;\s*16\s*\)|igh\s*/\s*maf\b|maf\s*/\s*igh",
    "t11_14": r"t\s*\(\s*11\s*;\s*14\s*\)|ccnd1\s*/\s*igh|igh\s*/\s*ccnd1",
    "gain1q": r"gain\s*(?:of\s*)?\(?\s*(?:chromosome\s+)?1q[\d.]*\s*\)?|1q[\d.]*\s*(?:gain|amplification|amp\b)|"
              r"amp\s*\(\s*1q[\d.]*\s*\)|amplification\s+(?:of\s+)?1q|\+\s*1q|\+1q",
}
_MENTION = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PATTERNS.items()), re.IGNORECASE)
_SENTENCE = re.compile(r"[.;\n]+(?!\d)")
# Chromosome band notation after a translocation, "t(11;14)(q13;q32)": its ";" is no sentence end.
_BANDS = re.compile(r"(?<=\))\s*\(\s*[pq]\d[\d.]*\s*;\s*[pq]\d[\d.]*\s*\)", re.IGNORECASE)
_LIST_GAP = re.compile(r"[\s,/]*(?:(?:and|or|nor|&)[\s,/]*)?", re.IGNORECASE)
# A parenthetical may sit between a finding and its verdict: "1q21 gain (3 copies) not detected".
# ... and the finding's noun: "IGH/CCND1 fusion detected", "t(4;14) translocation not detected".
_FINDING_NOUN = r"(?:(?:fusion|translocation|rearrangement|deletion|loss|gain|amplification|abnormality|signals?)\s+)?"
_NEGATIVE_AFTER = re.compile(r"^\W*(?:\([^)]*\)\W*)?" + _FINDING_NOUN +
                             r"(?:was\s+|were\s+|is\s+|are\s+|all\s+|both\s+)?(?:not\s+(?:detected|identified|seen|present|found)"
                             r"|negative|absent|neg\b|excluded|ruled\s+out)", re.IGNORECASE)
_POSITIVE_AFTER = re.compile(r"^\W*(?:\([^)]*\)\W*)?" + _FINDING_NOUN + r"(?:was\s+|were\s+|is\s+|are\s+)?(?:detected|identified|present|positive|seen|found)",
                             re.IGNORECASE)
_NEGATIVE_BEFORE = re.compile(r"(?:\bno\b|\bnegative\s*(?:for\b|:)|\bwithout\b|\babsence\s+of\b|\bnot\b|\bneg\s+for\b|"
                              r"\bnone\s+of\b|\bruled\s+out\b)[^;]*$", re.IGNORECASE)
_POSITIVE_BEFORE = re.compile(r"\bpositive\s*(?:for\b|:)|\bdetected\b|\bshows?\b|\bwith\b|\bidentified\b|\bpresence\s+of\b",
                              re.IGNORECASE)
# Words that introduce the list of probes a panel covers: what was tested, not what was found.
_TESTED_FOR = re.compile(r"\b(?:probes?|panel|tested|testing|assay|evaluat\w*|assess\w*|screen\w*|includ\w*|"
                         r"interrogat\w*|examined|performed)\b", re.IGNORECASE)
# The test gave no verdict on the finding: neither positive nor negative (unknown is not negative).
_NO_RESULT = re.compile(r"\bnot\s+(?:performed|done|tested|assessed|evaluated|available|interpretable|reported)\b|"
                        r"\b(?:failed|insufficient|pending|indeterminate|equivocal|inconclusive|uninformative|"
                        r"cancell?ed)\b|\bQNS\b", re.IGNORECASE)
# A finding reported with its extent ("in 40% of nuclei", "(3 copies)") was found.
_QUANTIFIED_AFTER = re.compile(r"^\W*(?:\(?\s*)?(?:in\s+)?\d+(?:\.\d+)?\s*(?:%|percent|copies|of\s+(?:\d+\s+)?(?:nuclei|cells))",
                               re.IGNORECASE)
_POSITIVE_TEXT = re.compile(r"\b(?:positive|detected|present|abnormal)\b", re.IGNORECASE)
_NEGATIVE_TEXT = re.compile(r"\b(?:negative|not\s+detected|none\s+detected|absent|normal|no|none)\b", re.IGNORECASE)
_LABELS: dict[CytogeneticAbnormality, str] = {
    "del17p": "del(17p)", "t4_14": "t(4;14)", "t14_16": "t(14;16)", "t11_14": "t(11;14)", "gain1q": "1q gain",
}


def _group_polarity(before: str, after: str) -> bool | None:
    """The verdict the words around a list of findings give it; None when there is none.

    No result at all when the test did not give one ("not performed", "failed", "pending").
    Then an explicit negative after the list wins ("... not detected"), then a negation before it
    ("no A, B or C detected", "negative for A and B"), then a positive word either side; a
    positive word that only introduces what was tested ("performed with probes for A, B") is
    not a verdict. Last, a count after the finding ("in 40% of nuclei", "(3 copies)") is."""
    if _NO_RESULT.search(after) or _NO_RESULT.search(before):
        return None
    if _NEGATIVE_AFTER.search(after):
        return False
    if _NEGATIVE_BEFORE.search(before):
        return False
    if _POSITIVE_AFTER.search(after):
        return True
    leads = list(_POSITIVE_BEFORE.finditer(before))
    if leads and not _TESTED_FOR.search(before, leads[-1].end()):
        return True
    if _QUANTIFIED_AFTER.search(after):
        return True
    return None


def _own_lead(gap: str, group_number: int) -> str:
    """The words before a list that belong to it: the previous list's trailing verdict
    ("t(4;14) not detected, del(17p) detected") is not this list's negation."""
    if group_number:
        verdict = _NEGATIVE_AFTER.match(gap) or _POSITIVE_AFTER.match(gap)
        if verdict:
            return gap[verdict.end():]
    return gap


def narrative_findings(text: str) -> list[tuple[CytogeneticAbnormality, bool]]:
    """(abnormality, positive) for every mention in a narrative report that carries a verdict.

    Within a sentence, mentions separated only by commas / "and" / "or" form one list that
    shares the verdict around it. A list without a verdict of its own takes the previous list's
    verdict in the sentence; with none, it is not a result at all. A bare mention ("FISH panel:
    del(17p), t(4;14), t(11;14)") often only lists what was tested, and treating it as positive
    would, e.g., document t(11;14) for venetoclax (H3) or high risk without a result."""
    findings: list[tuple[CytogeneticAbnormality, bool]] = []
    for sentence in _SENTENCE.split(_BANDS.sub("", text)):
        mentions = list(_MENTION.finditer(sentence))
        groups: list[list[re.Match[str]]] = []
        for i, match in enumerate(mentions):
            if i and _LIST_GAP.fullmatch(sentence[mentions[i - 1].end(): match.start()]):
                groups[-1].append(match)
            else:
                groups.append([match])
        previous: bool | None = None
        previous_end = 0
        for g, group in enumerate(groups):
            after_end = groups[g + 1][0].start() if g + 1 < len(groups) else len(sentence)
            verdict = _group_polarity(_own_lead(sentence[previous_end: group[0].start()], g),
                                      sentence[group[-1].end(): after_end])
            positive = verdict if verdict is not None else previous
            if positive is not None:
                findings.extend((match.lastgroup, positive) for match in group)  # type: ignore[misc]
            previous, previous_end = positive, group[-1].end()
    return findings


def _answer(obs: dict[str, Any], codes: Codes) -> bool | None:
    """Positive / negative from a coded, string or boolean value; None when unreadable."""
    concept = obs.get("valueCodeableConcept")
    for _system, code in concept_codings(concept):
        if code in codes.positive_answers:
            return True
        if code in codes.negative_answers:
            return False
    value = obs.get("valueBoolean")
    if isinstance(value, bool):
        return value
    texts = [*concept_texts(concept)]
    if isinstance(obs.get("valueString"), str):
        texts.append(obs["valueString"])
    for text in texts:
        if _NO_RESULT.search(text):
            return None
        if _NEGATIVE_TEXT.search(text):
            return False
        if _POSITIVE_TEXT.search(text):
            return True
    return None


@dataclass(frozen=True, slots=True)
class CytogeneticsSummary:
    results: tuple[CytogeneticResult, ...]
    high_risk: bool | None
    t11_14_positive: bool
    on_file: bool
    missing: tuple[CytogeneticAbnormality, ...]


def _has_answer(part: dict[str, Any]) -> bool:
    return "valueString" in part or "valueCodeableConcept" in part or "valueBoolean" in part


def _structured_abnormality(obs: dict[str, Any], loinc: dict[str, CytogeneticAbnormality]) -> CytogeneticAbnormality | None:
    for _system, code in concept_codings(obs.get("code")):
        if code in loinc:
            return loinc[code]
    names = {m.lastgroup for text in concept_texts(obs.get("code")) for m in _MENTION.finditer(text)}
    names.discard(None)
    return names.pop() if len(names) == 1 else None  # type: ignore[return-value]


def _rid(resource: dict[str, Any]) -> str:
    rid = resource.get("id")
    return rid if isinstance(rid, str) else ""


def derive_cytogenetics(index: ResourceIndex, codes: Codes, evaluation_date: date,
                        high_risk_abnormalities: tuple[str, ...] = HIGH_RISK_ABNORMALITIES) -> CytogeneticsSummary:
    loinc: dict[str, CytogeneticAbnormality] = {}
    for name, abnormality in (("fish_del17p", "del17p"), ("fish_t4_14", "t4_14"), ("fish_t11_14", "t11_14")):
        for code in codes.loinc(name):
            loinc[code] = abnormality  # type: ignore[assignment]
    narrative_codes = codes.loinc("fish_narrative")
    results: list[CytogeneticResult] = []
    on_file = False
    # Numeric labs and vitals (the bulk of a record) carry no FISH result: only Observations with
    # an answer or components (a FISH panel may carry one component per probe) are read.
    for obs in index.observations_with_answer():
        components = obs.get("component")
        parts = [obs, *(c for c in listed(components) if isinstance(c, dict))]
        if not any(_has_answer(part) for part in parts):
            continue
        when = effective_date(obs)
        if when is not None and when > evaluation_date:
            continue
        for part in parts:
            if not _has_answer(part):
                continue
            abnormality = _structured_abnormality(part, loinc)
            if abnormality is not None:
                answer = _answer(part, codes)
                on_file = True
                if answer is not None:
                    text = f"{_LABELS[abnormality]} FISH {'positive' if answer else 'negative'}"
                    results.append(CytogeneticResult(abnormality, answer, when, Evidence(
                        "Observation", _rid(obs), when, text, "positive" if answer else "negative")))
                continue
            narrative = part.get("valueString")
            if any(code in narrative_codes for _s, code in concept_codings(part.get("code"))):
                on_file = True
            if isinstance(narrative, str):
                results.extend(_from_narrative("Observation", obs, when, narrative))
    for report in index.of_type("DiagnosticReport"):
        when = effective_date(report)
        if when is not None and when > evaluation_date:
            continue
        conclusion = report.get("conclusion")
        if isinstance(conclusion, str):
            found = _from_narrative("DiagnosticReport", report, when, conclusion)
            results.extend(found)
            if found:
                on_file = True
    return _summarise(results, on_file, high_risk_abnormalities)


def _from_narrative(rtype: str, resource: dict[str, Any], when: date | None, text: str) -> list[CytogeneticResult]:
    results = []
    for abnormality, positive in narrative_findings(text):
        label = f"{_LABELS[abnormality]} {'detected' if positive else 'not detected'} (report)"
        results.append(CytogeneticResult(abnormality, positive, when,
                                         Evidence(rtype, _rid(resource), when, label, text[:200])))
    return results


def _summarise(results: list[CytogeneticResult], on_file: bool, high_risk: tuple[str, ...]) -> CytogeneticsSummary:
    results.sort(key=lambda r: (r.date or date.min, r.abnormality))
    # A documented positive stands against a later negative: FISH abnormalities are clonal, and a
    # later negative usually reflects a marrow with few plasma cells (in response), not their loss.
    positives = {r.abnormality for r in results if r.positive}
    tested = {r.abnormality for r in results}
    high_risk_positive = any(a in positives for a in high_risk)
    high_risk_tested = any(a in tested for a in high_risk)
    is_high_risk = True if high_risk_positive else (False if high_risk_tested else None)
    return CytogeneticsSummary(
        results=tuple(results),
        high_risk=is_high_risk,
        t11_14_positive="t11_14" in positives,
        on_file=on_file or bool(results),
        missing=tuple(a for a in high_risk if a not in tested),  # type: ignore[misc]
    )

