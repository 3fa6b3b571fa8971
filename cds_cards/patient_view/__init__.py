"""Patient-view cards (04 §1–§3, §5) for the families of ``clinical_rules.patient_view``.

Decides nothing clinical. Each family runs isolated, its decision and its rendering together: one
that raises is logged (type only) and costs only its own cards (the treatment card and its
supportive-care card stand or fall together). Cards come in the knowledge base's family order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cds_cards.patient_view import data_gaps, info_cards, treatment
from clinical_rules.isolation import isolated
from clinical_rules.patient_view import FAMILIES, Family, FamilyContext, assemble, context, families_for

if TYPE_CHECKING:
    from clinical_rules.decisions import RelapseDecision, ReportedGap
    from clinical_rules.kb import KnowledgeBase
    from fhir_mappings.facts import PatientFacts

Card = dict[str, Any]
RENDERERS: dict[str, Callable[[Any, FamilyContext], list[Card]]] = {
    "treatment": treatment.render,
    "aggressive-disease": info_cards.render,
    "salvage-transplant": info_cards.render,
    "referral": info_cards.render,
    "relapse-workup": info_cards.render,
    "data-gap": data_gaps.render,
}
if set(RENDERERS) != {family.name for family in FAMILIES}:
    raise RuntimeError("every card family of clinical_rules.patient_view needs its renderer here")


@dataclass(frozen=True)
class PatientView:
    decision: RelapseDecision  # the structured trace behind the cards
    cards: list[Card]


def patient_view(facts: PatientFacts, kb: KnowledgeBase, *, reported: Iterable[ReportedGap] = ()) -> PatientView:
    """The patient-view decision and its cards (an empty list when the service stays silent)."""
    ctx = context(facts, kb, reported)
    failures: list[str] = []
    rendered: dict[str, list[Card]] = {}
    for family in families_for(ctx.status):
        cards = isolated(family.name, lambda f=family: _decide_and_render(f, ctx), failures)
        if cards:
            rendered[family.name] = cards
    cards = [card for name in _order(kb.cards.family_order, ctx) for card in rendered.get(name, ())]
    return PatientView(decision=assemble(ctx, failures), cards=cards)


def _order(family_order: Iterable[str], ctx: FamilyContext) -> list[str]:
    """The knowledge base's family order, with a family whose decision says it ``precedes``
    another moved before it (the referral card before the treatment card when T-cell redirecting
    therapy is the preferred next step)."""
    order = list(family_order)
    for name, decision in ctx.decided.items():
        target = getattr(decision, "precedes", None)
        if target in order and name in order:
            order.remove(name)
            order.insert(order.index(target), name)
    return order


def render(facts: PatientFacts, kb: KnowledgeBase, *, reported: Iterable[ReportedGap] = ()) -> list[Card]:
    return patient_view(facts, kb, reported=reported).cards


def _decide_and_render(family: Family, ctx: FamilyContext) -> list[Card]:
    decision = family.decide(ctx)
    ctx.record(family.name, decision)  # kept even if rendering fails: later families depend on it
    return RENDERERS[family.name](decision, ctx) if decision is not None else []
