"""The laboratory values the dose check of a drafted drug needs (data_gaps.yaml ``dose_labs``,
D36): missing, stale or not enough to dose is a data-gap item of the order hooks, never a guess.

Each key of ``dose_labs`` names a reader of the facts here (:data:`LABS`); which drugs need it,
the window its texts state and every sentence are the knowledge base's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from clinical_rules.decisions import DataGap, FactUsed, say

if TYPE_CHECKING:
    from clinical_rules.kb import KnowledgeBase
    from clinical_rules.kbmodel.data_gaps import DoseLab
    from fhir_mappings.facts import Measurement, PatientFacts

LabState = Literal["missing", "stale", "incomplete"]


@dataclass(frozen=True, slots=True)
class LabReading:
    """Why the value cannot dose (None from a reader: it can), and the last value there is."""

    state: LabState
    kind: str | None = None  # a key of the entry's ``lab_names``
    last: Measurement | None = None


def _renal_function(facts: PatientFacts) -> LabReading | None:
    """02 §2.8: renal dosing is decidable with a CrCl-like value within the window, or dialysis."""
    renal = facts.renal
    if renal.known:
        return None
    if renal.creatinine_mg_dl is not None:
        # A creatinine within the window that gave no CrCl: the weight or the age is missing.
        return LabReading("incomplete", "creatinine", renal.creatinine_mg_dl)
    if renal.last_value is None:
        return LabReading("missing")
    return LabReading("stale", renal.last_kind, renal.last_value)


LABS: Mapping[str, Callable[[PatientFacts], LabReading | None]] = {
    "renal-function": _renal_function,
}


def dose_lab_gaps(facts: PatientFacts, kb: KnowledgeBase, drafted: Iterable[str]) -> list[DataGap]:
    """One blocking gap per lab the drafted drugs need and the record cannot give, naming them."""
    drafted = tuple(dict.fromkeys(drafted))
    gaps = []
    for code, lab in kb.data_gaps.dose_labs.items():
        drugs = [d for d in drafted if d in lab.drugs]
        if not drugs:
            continue
        reading = LABS[code](facts)
        if reading is not None:
            gaps.append(_gap(code, lab, reading, ", ".join(drugs), kb))
    return gaps


def _gap(code: str, lab: DoseLab, reading: LabReading, drugs: str, kb: KnowledgeBase) -> DataGap:
    last = reading.last
    values = {"drugs": drugs, "lab": lab.lab_names.get(reading.kind or "", ""),
              "date": last.date.isoformat() if last is not None else ""}
    text = {"missing": lab.missing, "stale": lab.stale, "incomplete": lab.incomplete}[reading.state]
    record = lab.record_incomplete if reading.state == "incomplete" else lab.record
    used = (_last_value_fact(last, reading.kind, kb),) if last is not None else ()
    # The item's text opens with the drug names.
    opening = {**values, "drugs": drugs[:1].upper() + drugs[1:]}
    return DataGap(code=f"dose-lab:{code}", name=say(lab.name, **values), text=say(text, **opening),
                   record=say(record, **values), blocks_dosing=True, rule_ids=(lab.rule_id, lab.decision),
                   sources=(*lab.seeds,), facts_used=used)


def _last_value_fact(last: Measurement, kind: str | None, kb: KnowledgeBase) -> FactUsed:
    texts = kb.facts
    if kind == "creatinine":
        label = say(texts.creatinine, value=f"{last.value:.2f}", date=last.date.isoformat())
    else:
        label = say(texts.crcl, value=f"{last.value:.0f}", method=texts.renal_methods.get(kind or "", ""))
    return FactUsed(label, (last.evidence,))

