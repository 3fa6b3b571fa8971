"""Autologous stem-cell transplants (02 §2.3): completed Procedures, or a Z94.84 status Condition."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fhir_mappings.conditions import condition_evidence
from fhir_mappings.dates import months_between, parse_date, period_start
from fhir_mappings.facts import Evidence, ProgressionEvent, Transplant
from fhir_mappings.index import ResourceIndex
from fhir_mappings.qualifiers import EVER, affirmed_text
from fhir_mappings.terminology import Codes, concept_texts

_AUTOLOGOUS = re.compile(r"\bauto(?:logous)?\b|\bASCT\b|\bauto-?HCT\b", re.IGNORECASE)
# "transplant" also covers "transplantation"; HSCT / HCT / ASCT are the usual abbreviations.
_TRANSPLANT = re.compile(r"stem[\s-]cell|\bH?SCT\b|\bHCT\b|transplant", re.IGNORECASE)
_ALLOGENEIC = re.compile(r"\ballo", re.IGNORECASE)
# Steps around a transplant that name it without being one: collecting the autologous cells,
# planning or assessing for it.
_NOT_THE_TRANSPLANT = re.compile(r"harvest|collection|apheresis|mobili[sz]ation|evaluation|work-?up|consult|"
                                 r"referral|planned|eligib", re.IGNORECASE)


def _is_asct(procedure: dict[str, Any], codes: Codes) -> bool:
    concept = procedure.get("code")
    if codes.procedure("autologous_hsct").matches_code(concept):
        return True
    texts = [t for t in concept_texts(concept)
             if _TRANSPLANT.search(t) and not _ALLOGENEIC.search(t) and not _NOT_THE_TRANSPLANT.search(t)]
    # "no prior autologous transplant", "not a candidate for autologous SCT" are not one.
    return bool(texts) and affirmed_text(_AUTOLOGOUS, texts, EVER) is not None


def transplants(index: ResourceIndex, codes: Codes, evaluation_date: date) -> tuple[Transplant, ...]:
    """Dated transplants sorted by date; an undated Z94.84 only when no dated one exists."""
    dated: dict[date, Transplant] = {}
    for procedure in index.of_type("Procedure"):
        status = procedure.get("status")
        if status not in (None, "completed") or not _is_asct(procedure, codes):
            continue
        when = (parse_date(procedure.get("performedDateTime")) or period_start(procedure.get("performedPeriod"))
                # R5 renamed performed[x] to occurrence[x]
                or parse_date(procedure.get("occurrenceDateTime")) or period_start(procedure.get("occurrencePeriod")))
        if when is None or when > evaluation_date:
            continue
        rid = procedure.get("id")
        text = next(concept_texts(procedure.get("code")), "autologous stem-cell transplant")
        evidence = Evidence("Procedure", rid if isinstance(rid, str) else "", when, text[:80], "ASCT")
        dated.setdefault(when, Transplant(when, evidence))
    result = [dated[d] for d in sorted(dated)]
    if not result:
        status = codes.condition("stem_cell_transplant_status")
        for condition in index.of_type("Condition"):
            if status.matches_code(condition.get("code")):
                result.append(Transplant(None, condition_evidence(condition)))
                break
    return tuple(result)


def months_to_progression(transplant_list: tuple[Transplant, ...],
                          events: tuple[ProgressionEvent, ...]) -> float | None:
    """Latest dated ASCT -> the first progression event after it, in months."""
    dated = [t.date for t in transplant_list if t.date is not None]
    if not dated:
        return None
    asct = max(dated)
    after = [e.date for e in events if e.date > asct]
    if not after:
        return None
    return round(months_between(asct, min(after)), 1)
