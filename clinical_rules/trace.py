"""The patient-view decision as a JSON-ready trace (for an explain view): the row that matched, the
preference list, every regimen a hard rule passed over and why, the modifiers applied, the
supportive care and the other families — ids, rule ids and reasons as data (each reason with its
knowledge-base text key, its values and its sentence)."""

from __future__ import annotations

from typing import Any

from clinical_rules.decisions import (
    DataGapCard,
    FactUsed,
    InfoCard,
    RelapseDecision,
    Sentence,
    TreatmentFamily,
)
from clinical_rules.tcr_eligibility import Eligibility


def decision_trace(decision: RelapseDecision) -> dict[str, Any]:
    trace: dict[str, Any] = {"status": decision.status, "kbVersion": decision.kb_version}
    if decision.treatment is not None:
        trace["treatment"] = _treatment(decision.treatment)
    if decision.info_cards:
        trace["cards"] = [_info(card) for card in decision.info_cards]
    if decision.data_gaps is not None:
        trace["dataGaps"] = _gaps(decision.data_gaps)
    if decision.failed_families:
        trace["failedFamilies"] = list(decision.failed_families)
    return trace


def sentence(value: Sentence) -> dict[str, Any]:
    out: dict[str, Any] = {"text": value.text, "key": value.key}
    if value.values:
        out["values"] = {k: v if isinstance(v, int | float | str) else str(v) for k, v in value.values}
    return out


def _fact(fact: FactUsed) -> dict[str, Any]:
    out: dict[str, Any] = {"fact": sentence(fact.label)}
    if fact.evidence:
        out["evidence"] = [{"reference": e.reference, **({"date": e.date.isoformat()} if e.date else {})}
                           for e in fact.evidence]
    return out


def _treatment(family: TreatmentFamily) -> dict[str, Any]:
    t = family.treatment
    return {
        "rowId": t.row_id,
        "listRowId": t.list_row_id,
        "rowState": t.row_state,
        "seeds": list(t.seeds),
        "candidates": list(t.candidates),
        "excluded": [{"regimenId": e.regimen_id, "ruleId": e.rule_id, "drug": e.drug, "reason": sentence(e.reason)}
                     for e in t.exclusions],
        "modifiers": [{"kind": m.kind, "chosen": m.chosen, "passedOver": list(m.passed_over), "note": sentence(m.note)}
                      for m in t.modifiers],
        "options": [{"regimenId": o.regimen_id, "recommended": o.recommended, "drugs": list(o.drugs),
                     "doses": [{"drug": d.drug, "value": d.value, "unit": d.unit, "ruleId": d.rule_id,
                                "adjustments": [sentence(a) for a in d.adjustments]} for d in o.doses]}
                    for o in t.options],
        "listEmptied": t.list_emptied,
        "notes": [sentence(n) for n in t.notes],
        "disagreements": [sentence(d) for d in t.disagreements],
        "supportive": [{"need": m.need, "ruleId": m.rule_id, "kind": m.kind, "option": m.drug or (m.service.code if m.service else None),
                        "reason": sentence(m.reason)} for m in family.supportive],
        "factsUsed": [_fact(f) for f in family.facts_used],
    }


def _info(card: InfoCard) -> dict[str, Any]:
    out = {"family": card.family, "topic": card.topic, "indicator": card.indicator,
           "ruleIds": list(card.provenance.rule_ids), "summary": sentence(card.summary),
           "reasons": [sentence(r) for r in card.reasons], "services": [s.id for s in card.services]}
    if card.precedes:
        out["precedes"] = card.precedes
    if isinstance(card.eligibility, Eligibility):
        out["labelEligibility"] = _eligibility(card.eligibility)
    return out


def _eligibility(eligibility: Eligibility) -> dict[str, Any]:
    """Each T-cell redirecting product's US label population judged on the facts (03 §8.1)."""
    return {
        "preferred": eligibility.preferred,
        "priorBcmaDirected": list(eligibility.prior_bcma),
        "products": [{"product": p.product, "kind": p.kind, "target": p.target, "eligible": p.eligible,
                      "criteria": dict(p.criteria), "missing": list(p.missing), "afterBcma": p.after_bcma,
                      "sources": list(p.sources), "decision": p.decision} for p in eligibility.products],
    }


def _gaps(card: DataGapCard) -> dict[str, Any]:
    return {"blocksDosing": card.blocks_dosing, "ruleIds": list(card.provenance.rule_ids),
            "gaps": [{"code": g.code, "text": sentence(g.text), "record": sentence(g.record),
                      "blocksDosing": g.blocks_dosing} for g in card.gaps]}
