"""The treatment family (03 §3, §4): first matching row -> its preference list -> hard rules ->
heart-failure / neuropathy modifiers -> recommended regimen and alternatives, with the regimen's
doses, notes, source disagreements and supportive care. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from clinical_rules.decisions import (
    Exclusion,
    Modifier,
    RegimenOption,
    Sentence,
    TreatmentDecision,
    TreatmentFamily,
    say,
)
from clinical_rules.doses import starting_dose
from clinical_rules.fact_tests import condition_holds
from clinical_rules.fact_wording import decisive_facts
from clinical_rules.hard_rules import exclusion_reason
from clinical_rules.kb import KnowledgeBase
from clinical_rules.kbmodel.rules import Row
from clinical_rules.kbmodel.templates import Template
from clinical_rules.predicates import Situation, evaluate
from clinical_rules.supportive import supportive_measures

if TYPE_CHECKING:
    from clinical_rules.patient_view import FamilyContext
    from clinical_rules.tcr_eligibility import Eligibility
    from fhir_mappings.facts import PatientFacts


def decide(ctx: FamilyContext) -> TreatmentFamily:
    """The treatment decision with what its cards need: one family, since a treatment card without
    its supportive care is incomplete."""
    treatment = choose_treatment(ctx.facts, ctx.kb, eligibility=ctx.label_eligibility())
    recommended = treatment.recommended
    supportive = supportive_measures(recommended.drugs, ctx.facts, ctx.kb) if recommended is not None else ()
    return TreatmentFamily(treatment=treatment, supportive=supportive, facts_used=decisive_facts(ctx.facts, ctx.kb))


def matching_row(facts: PatientFacts, kb: KnowledgeBase) -> Row:
    """The first row (in KB order) whose state matches the facts."""
    for row in kb.rows:
        if condition_holds(row.when, facts):
            return row
    # The table covers every combination of LR / L / CD38x / PIr, so this means a broken KB.
    raise LookupError("no decision row matches; the knowledge base rows do not cover this state")


def preference_list(row: Row, facts: PatientFacts, kb: KnowledgeBase) -> tuple[str, tuple[str, ...]]:
    """(the row whose list is used, the list): a row may borrow another's lists by anti-CD38
    exposure (R9 from R6 / R7); frail patients get the frail list where there is one."""
    source = row
    if row.lists_of is not None:
        source = kb.row(row.lists_of.anti_cd38_exposed if facts.anti_cd38_exposed else row.lists_of.anti_cd38_naive)
    regimens = source.frail_list if facts.frail and source.frail_list else source.list
    return source.id, tuple(regimens)


def choose_treatment(facts: PatientFacts, kb: KnowledgeBase, *, eligibility: Eligibility | None = None) -> TreatmentDecision:
    row = matching_row(facts, kb)
    list_row_id, candidates = preference_list(row, facts, kb)
    survivors: list[str] = []
    exclusions: list[Exclusion] = []
    for regimen_id in candidates:
        excluded = exclusion_reason(regimen_id, row.id, facts, kb)
        if excluded is None:
            survivors.append(regimen_id)
        else:
            exclusions.append(Exclusion(regimen_id, excluded.rule_id, excluded.reason, excluded.drug))

    ordered, modifiers = apply_modifiers(survivors, facts, kb)
    ordered = ordered[: 1 + kb.modifiers.max_alternatives]
    options = tuple(_option(regimen_id, index == 0, row.id, list_row_id, facts, kb)
                    for index, regimen_id in enumerate(ordered))
    state = row.state
    if list_row_id != row.id:
        state = kb.cards.treatment.borrowed_state.render(state=state, list_row=list_row_id)
    decision = TreatmentDecision(
        row_id=row.id, list_row_id=list_row_id, row_state=state, seeds=row.seeds, candidates=candidates,
        options=options, exclusions=tuple(exclusions), modifiers=tuple(modifiers), notes=(),
        list_emptied=not options,
    )
    # Notes and disagreements are judged on the decision itself (an emptied list, the regimen).
    situation = Situation(facts, kb, decision, eligibility=eligibility)
    return replace(decision, notes=_attached(kb.cards.treatment.notes_when, situation),
                   disagreements=(*_attached(kb.cards.treatment.disagreements_when, situation),
                                  *_regimen_disagreements(options, kb)))


def apply_modifiers(survivors: list[str], facts: PatientFacts, kb: KnowledgeBase) -> tuple[list[str], list[Modifier]]:
    """Move the regimen the HF / PN modifiers choose to the front; the rest keep list order."""
    hf, pn = facts.heart_failure.present, facts.neuropathy.present
    if not survivors or not (hf or pn):
        return list(survivors), []
    hf_avoid, pn_avoid = set(kb.modifiers.heart_failure_avoid), set(kb.modifiers.neuropathy_avoid)
    texts = kb.cards.treatment.modifiers

    def first_without(avoid: set[str]) -> str | None:
        return next((r for r in survivors if not avoid & set(kb.regimens[r].drugs)), None)

    attempts: list[tuple[str, set[str], Sentence]] = []
    if hf and pn:
        attempts = [("both", hf_avoid | pn_avoid, say(texts.both)),
                    ("both-cardiac-first", hf_avoid, say(texts.both_cardiac_first))]
    elif hf:
        attempts = [("heart-failure", hf_avoid, say(texts.heart_failure))]
    else:
        attempts = [("neuropathy", pn_avoid, say(texts.neuropathy))]
    for kind, avoid, note in attempts:
        chosen = first_without(avoid)
        if chosen is not None:
            passed_over = tuple(survivors[: survivors.index(chosen)])
            return [chosen] + [r for r in survivors if r != chosen], [Modifier(kind, chosen, passed_over, note)]
    return list(survivors), [Modifier("list-order", None, (), say(texts.list_order_stands))]


def _option(regimen_id: str, recommended: bool, row_id: str, list_row_id: str, facts: PatientFacts,
            kb: KnowledgeBase) -> RegimenOption:
    regimen = kb.regimens[regimen_id]
    doses = tuple(starting_dose(drug, regimen_id, facts, kb) for drug in regimen.drugs)
    notes = tuple(say(n) for n in (*regimen.notes, *regimen.evidence))
    return RegimenOption(
        regimen_id=regimen_id, label=kb.regimen_label(regimen_id), drugs=regimen.drugs, doses=doses,
        recommended=recommended, notes=notes, seeds=regimen.seeds, row_id=row_id, list_row_id=list_row_id,
        kb_version=kb.version,
    )


def _attached(texts: Mapping[str, Template], situation: Situation) -> tuple[Sentence, ...]:
    """The texts whose named check holds, in knowledge-base order, their slots filled by the check."""
    found = []
    for check in texts:
        values = evaluate(check, situation)
        if values is not None:
            found.append(say(texts[check], **values))
    return tuple(found)


def _regimen_disagreements(options: tuple[RegimenOption, ...], kb: KnowledgeBase) -> tuple[Sentence, ...]:
    return tuple(say(d) for option in options if (d := kb.regimens[option.regimen_id].disagreement) is not None)

