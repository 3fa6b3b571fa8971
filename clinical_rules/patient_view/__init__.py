"""The patient-view decision (03 §3): whether relapse guidance is due, then each card family.

The families are declared once, here, in the order they are decided (the treatment first: the
referral and the data gaps depend on what it recommends). ``cds_cards.patient_view`` renders them
in the knowledge base's card order, running each family's decision and rendering together in
isolation; :func:`decide` runs the decisions alone (order checks, scenarios, the decision trace).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clinical_rules.decisions import (
    DataGapCard,
    InfoCard,
    RelapseDecision,
    ReportedGap,
    Status,
    TreatmentFamily,
)
from clinical_rules.isolation import isolated
from clinical_rules.kb import KnowledgeBase
from clinical_rules.patient_view import (
    aggressive_disease,
    data_gaps,
    referral,
    relapse_workup,
    salvage_transplant,
    treatment,
)
from clinical_rules.tcr_eligibility import Eligibility, label_eligibility

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts


@dataclass
class FamilyContext:
    """What a family's decision may use: the facts, the knowledge base, the caller's gaps, and the
    decisions of the families before it (``treatment`` is None when its rule failed)."""

    facts: PatientFacts
    kb: KnowledgeBase
    status: Status
    reported: tuple[ReportedGap, ...] = ()
    treatment: TreatmentFamily | None = None
    decided: dict[str, Any] = field(default_factory=dict)
    _eligibility: Eligibility | None = field(default=None, init=False, repr=False)

    def label_eligibility(self) -> Eligibility:
        """The label populations (03 §8.1), judged once per call: the treatment notes, the referral
        and the data gaps all read them."""
        if self._eligibility is None:
            self._eligibility = label_eligibility(self.facts, self.kb)
        return self._eligibility

    def record(self, family: str, decision: Any) -> None:
        self.decided[family] = decision
        if isinstance(decision, TreatmentFamily):
            self.treatment = decision


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    decide: Callable[[FamilyContext], Any]
    statuses: frozenset[Status] = frozenset({"relapse"})  # when the family is decided at all


FAMILIES: tuple[Family, ...] = (
    Family("treatment", treatment.decide),
    Family("aggressive-disease", aggressive_disease.decide),
    Family("salvage-transplant", salvage_transplant.decide),
    Family("referral", referral.decide),
    Family("relapse-workup", relapse_workup.decide),
    Family("data-gap", data_gaps.decide, frozenset({"relapse", "not-at-relapse", "possible-progression"})),
)


def relapse_status(facts: PatientFacts) -> Status:
    """Whether relapse guidance is due (02 §2.5): silence for no myeloma and for a new line already
    started after the latest progression."""
    if not facts.myeloma.present:
        return "no-myeloma"
    if facts.new_line_after_progression:
        return "new-line-started"
    if not facts.at_relapse:
        return "possible-progression" if facts.possible_progression is not None else "not-at-relapse"
    return "relapse"


def families_for(status: Status) -> tuple[Family, ...]:
    return tuple(family for family in FAMILIES if status in family.statuses)


def context(facts: PatientFacts, kb: KnowledgeBase, reported: Iterable[ReportedGap] = ()) -> FamilyContext:
    return FamilyContext(facts=facts, kb=kb, status=relapse_status(facts), reported=tuple(reported))


def assemble(ctx: FamilyContext, failures: Iterable[str]) -> RelapseDecision:
    """The whole decision from what the families decided (a failed family decided nothing)."""
    info = tuple(d for d in ctx.decided.values() if isinstance(d, InfoCard))
    gaps = next((d for d in ctx.decided.values() if isinstance(d, DataGapCard)), None)
    return RelapseDecision(status=ctx.status, kb_version=ctx.kb.version, treatment=ctx.treatment, info_cards=info,
                           data_gaps=gaps, failed_families=tuple(failures))


def decide(facts: PatientFacts, kb: KnowledgeBase, *, reported: Iterable[ReportedGap] = ()) -> RelapseDecision:
    """The patient-view conclusion for this patient at ``facts.evaluation_date`` (decisions only;
    each family isolated: one that raises is logged and decides nothing, the others stand)."""
    ctx = context(facts, kb, reported)
    failures: list[str] = []
    for family in families_for(ctx.status):
        isolated(family.name, lambda f=family: ctx.record(f.name, f.decide(ctx)), failures)
    return assemble(ctx, failures)
