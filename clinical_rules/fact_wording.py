"""The facts a decision relied on, each in its one wording (facts.yaml) with its resources: the
same sentence for a fact on a patient-view card and on an order-hook card."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clinical_rules.decisions import FactUsed, Sentence, composed, say
from clinical_rules.kb import KnowledgeBase

if TYPE_CHECKING:
    from datetime import date

    from fhir_mappings.facts import DrugHistory, Evidence, Finding, PatientFacts


def decisive_facts(facts: PatientFacts, kb: KnowledgeBase) -> tuple[FactUsed, ...]:
    """The few facts the treatment choice turned on, each with date and value (04 §1): the latest
    progression, refractoriness (drugs refractory at one progression named together), prior
    lines, the transplant interval, positive cytogenetics, and the patient's state."""
    texts = kb.facts
    used = [*progression_facts(facts, kb), FactUsed(say(texts.prior_lines, count=facts.prior_lines)),
            *refractory_group_facts(facts, kb)]
    used += transplant_facts(facts, kb, compact=True)
    used += [FactUsed(cytogenetic_result(r.abnormality, r.positive, r.date, kb), (r.evidence,))
             for r in facts.cytogenetics if r.positive]
    used += patient_state_facts(facts, kb)
    return tuple(used)


def refractory_group_facts(facts: PatientFacts, kb: KnowledgeBase) -> tuple[FactUsed, ...]:
    """Refractoriness in few lines: drugs refractory at one progression named together, then
    anti-CD38 exposure and the class summary (penta-refractory says triple-class too)."""
    texts = kb.facts
    used: list[FactUsed] = []
    by_event: dict[object, list[DrugHistory]] = {}
    for history in facts.drug_histories:
        if history.refractory:
            by_event.setdefault(history.refractory_event, []).append(history)
    for event, histories in by_event.items():
        # The date only: the latest progression's values are stated above, earlier ones are in
        # the provenance extension (the resources) and the timeline.
        progression = texts.refractory_latest.render(date=event.date.isoformat()) if event is not None else ""
        evidence = tuple(e for h in histories for x in h.exposures for e in x.evidence)
        used.append(FactUsed(say(texts.refractory_to, drugs=", ".join(h.drug for h in histories),
                                 progression=progression), evidence))
    skip = {texts.refractory, *([texts.triple_class_refractory] if facts.penta_refractory else [])}
    used += [f for f in refractoriness_facts(facts, kb) if f.label.template not in skip]
    return tuple(used)


def progression_facts(facts: PatientFacts, kb: KnowledgeBase) -> tuple[FactUsed, ...]:
    progression = facts.latest_progression
    if progression is None:
        return ()
    label = say(kb.facts.progression, date=progression.date.isoformat(), description=progression.description)
    return (FactUsed(label, progression.evidence),)




def refractoriness_facts(facts: PatientFacts, kb: KnowledgeBase) -> tuple[FactUsed, ...]:
    texts = kb.facts
    used = [refractory_fact(history, kb) for history in facts.drug_histories if history.refractory]
    if facts.anti_cd38_exposed and not facts.anti_cd38_refractory:
        exposures = [e for h in facts.drug_histories if "anti-CD38" in h.classes for e in h.exposures]
        first = min(exposures, key=lambda e: e.start) if exposures else None
        since = texts.since.render(start=first.start.isoformat()) if first else ""
        used.append(FactUsed(say(texts.anti_cd38_exposed, since=since), tuple(ev for e in exposures for ev in e.evidence)))
    if facts.triple_class_refractory:
        used.append(FactUsed(say(texts.triple_class_refractory)))
    if facts.penta_refractory:
        used.append(FactUsed(say(texts.penta_refractory)))
    return tuple(used)


def refractory_fact(history: DrugHistory, kb: KnowledgeBase) -> FactUsed:
    """"lenalidomide-refractory: progression 2025-06-03 — … — while on lenalidomide since …"."""
    texts = kb.facts
    event, exposure = history.refractory_event, history.refractory_exposure
    evidence = list(exposure.evidence if exposure else ())
    progression = ""
    if event is not None:
        progression = texts.refractory_progression.render(date=event.date.isoformat(), description=event.description)
        evidence = list(event.evidence) + evidence
    stated = ""
    if exposure is not None:
        stated = (texts.refractory_while_on.render(drug=history.drug, start=exposure.start.isoformat())
                  if exposure.ongoing else
                  texts.refractory_exposure.render(drug=history.drug, start=exposure.start.isoformat(),
                                                   end=exposure.end.isoformat()))
    label = say(texts.refractory, drug=history.drug, progression=progression, exposure=stated)
    return FactUsed(label, tuple(evidence))


def transplant_facts(facts: PatientFacts, kb: KnowledgeBase, *, compact: bool = False) -> tuple[FactUsed, ...]:
    """Each ASCT and the interval to the progression after it (``compact``: the interval alone when
    it is known)."""
    texts = kb.facts
    if compact and facts.months_asct_to_progression is not None:
        return (FactUsed(say(texts.months_asct_to_progression, months=f"{facts.months_asct_to_progression:.0f}"),
                         tuple(t.evidence for t in facts.transplants)),)
    used = []
    for transplant in facts.transplants:
        when = transplant.date.isoformat() if transplant.date else texts.date_unknown.render()
        used.append(FactUsed(say(texts.asct, date=when), (transplant.evidence,)))
    if facts.months_asct_to_progression is not None:
        used.append(FactUsed(say(texts.months_asct_to_progression, months=f"{facts.months_asct_to_progression:.0f}")))
    return tuple(used)


def cytogenetic_facts(facts: PatientFacts, kb: KnowledgeBase, abnormality: str | None = None) -> tuple[FactUsed, ...]:
    """Every cytogenetic result (or those of one ``abnormality``, saying so when there is none)."""
    texts = kb.facts
    results = [r for r in facts.cytogenetics if abnormality is None or r.abnormality == abnormality]
    if abnormality is not None and not results:
        return (FactUsed(say(texts.no_cytogenetic_result, abnormality=texts.abnormalities[abnormality])),)
    return tuple(FactUsed(cytogenetic_result(r.abnormality, r.positive, r.date, kb), (r.evidence,)) for r in results)


def cytogenetic_result(abnormality: str, positive: bool, when: date | None, kb: KnowledgeBase) -> Sentence:
    texts = kb.facts
    result = (texts.positive if positive else texts.negative).render()
    stated_date = texts.cytogenetic_date.render(date=when.isoformat()) if when else ""
    return say(texts.cytogenetic, abnormality=texts.abnormalities[abnormality], result=result, date=stated_date)


def compact_eligibility(facts: PatientFacts, kb: KnowledgeBase) -> tuple[FactUsed, ...]:
    """Age, ECOG and the proxies in one line."""
    eligibility = eligibility_facts(facts, kb)
    return (FactUsed(composed("; ".join(f.label.text for f in eligibility)),
                     tuple(e for f in eligibility for e in f.evidence)),) if eligibility else ()


def eligibility_facts(facts: PatientFacts, kb: KnowledgeBase) -> tuple[FactUsed, ...]:
    """Age, ECOG and the frailty / transplant-eligibility proxies."""
    texts = kb.facts
    used: list[FactUsed] = []
    if facts.age is not None:
        used.append(FactUsed(say(texts.age, age=facts.age)))
    if facts.ecog is not None:
        used.append(FactUsed(say(texts.ecog, value=f"{facts.ecog.value:g}", date=facts.ecog.date.isoformat()),
                             (facts.ecog.evidence,)))
    answer = {True: texts.yes.render(), False: texts.no.render()}
    used.append(FactUsed(say(texts.proxies, frail=answer[facts.frail], eligible=answer[facts.transplant_eligible])))
    return tuple(used)


def aggressive_facts(facts: PatientFacts, kb: KnowledgeBase) -> tuple[FactUsed, ...]:
    used = [finding_fact(name, finding, kb) for name, finding in aggressive_findings(facts) if finding.present]
    cpc = facts.circulating_plasma_cells_percent
    if cpc is not None:
        label = say(kb.facts.circulating_plasma_cells, value=f"{cpc.value:g}", date=cpc.date.isoformat())
        used.append(FactUsed(label, (cpc.evidence,)))
    return tuple(used)


def aggressive_findings(facts: PatientFacts) -> tuple[tuple[str, Finding], ...]:
    return (("plasma_cell_leukaemia", facts.plasma_cell_leukaemia), ("extramedullary", facts.extramedullary))


def finding_fact(name: str, finding: Finding, kb: KnowledgeBase) -> FactUsed:
    """heart_failure, neuropathy, vte_history, plasma_cell_leukaemia, extramedullary."""
    return FactUsed(_recorded(say(getattr(kb.facts.findings, name)), finding.evidence, kb), finding.evidence)


def _recorded(fact: Sentence, evidence: tuple[Evidence, ...], kb: KnowledgeBase) -> Sentence:
    """The fact with the date of its latest dated record; as it is when no record has a date."""
    dates = [e.date for e in evidence if e.date is not None]
    return say(kb.facts.recorded, fact=fact.text, date=max(dates).isoformat()) if dates else fact


def renal_facts(facts: PatientFacts, kb: KnowledgeBase) -> tuple[FactUsed, ...]:
    """Dialysis, and the CrCl with creatinine and weight (unknown renal function is a data gap)."""
    texts, renal = kb.facts, facts.renal
    used: list[FactUsed] = []
    if renal.dialysis:
        used.append(FactUsed(say(texts.dialysis), renal.evidence))
    if renal.crcl_ml_min is not None:
        parts = [texts.crcl.render(value=f"{renal.crcl_ml_min:.0f}",
                                   method=texts.renal_methods[renal.method or "cockcroft-gault"])]
        if renal.creatinine_mg_dl is not None:
            c = renal.creatinine_mg_dl
            parts.append(texts.creatinine.render(value=f"{c.value:.2f}", date=c.date.isoformat()))
        if renal.weight_kg is not None:
            w = renal.weight_kg
            parts.append(texts.weight.render(value=f"{w.value:.1f}", date=w.date.isoformat()))
        used.append(FactUsed(composed("; ".join(parts)), renal.evidence))
    # The mapping's own notes (e.g. which renal measure it used), as it words them.
    used.extend(FactUsed(composed(note)) for note in renal.notes)
    return tuple(used)


def lvef_fact(facts: PatientFacts, kb: KnowledgeBase) -> tuple[FactUsed, ...]:
    lvef = facts.lvef_percent
    if lvef is None:
        return ()
    return (FactUsed(say(kb.facts.lvef, value=f"{lvef.value:g}", date=lvef.date.isoformat()), (lvef.evidence,)),)


def patient_state_facts(facts: PatientFacts, kb: KnowledgeBase) -> list[FactUsed]:
    """Age, ECOG and the proxies in one line, renal function, findings (the doses state the BSA)."""
    used = list(compact_eligibility(facts, kb))
    used.extend(renal_facts(facts, kb))
    for name in ("heart_failure", "neuropathy", "vte_history", "plasma_cell_leukaemia", "extramedullary"):
        finding = getattr(facts, name)
        if finding.present:
            used.append(finding_fact(name, finding, kb))
    used.extend(lvef_fact(facts, kb))
    return used


def drafted_fact(drugs: str, kb: KnowledgeBase) -> FactUsed:
    return FactUsed(say(kb.order_texts.drafted, drugs=drugs))
