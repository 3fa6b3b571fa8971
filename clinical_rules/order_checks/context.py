"""What every order check sees: the whole draft, the drafts being judged, the facts, the knowledge
base, and what the relapse algorithm would recommend (decided once, only when a check asks)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from clinical_rules.decisions import FactUsed, Provenance, Sentence, TreatmentDecision, say
from clinical_rules.hard_rules import drug_exclusion
from clinical_rules.kb import KnowledgeBase
from clinical_rules.kbmodel.orders import OrderCheck
from clinical_rules.order_checks.findings import Fix, OrderFinding
from fhir_mappings.draft_orders import DraftOrder
from fhir_mappings.facts import PatientFacts


@dataclass
class OrderContext:
    drafts: tuple[DraftOrder, ...]
    judged: tuple[DraftOrder, ...]
    facts: PatientFacts
    kb: KnowledgeBase
    deleted: set[str] = field(default_factory=set)  # drafts a finding deletes: no other fix touches them
    unjudgeable: set[str] = field(default_factory=set)  # drafts whose hard-rule check failed
    drafted_services: frozenset[tuple[str, str]] = frozenset()  # (system, code) of draft ServiceRequests
    _treatment: TreatmentDecision | None = None
    _decided: bool = False

    @property
    def drafted(self) -> set[str]:
        return {g for d in self.drafts for g in d.generics}

    @property
    def regimen_id(self) -> str | None:
        """The regimen whose drugs are exactly the drafted anti-myeloma drugs and steroids (its
        doses differ by regimen), else None."""
        drafted = {drug.generic for d in self.drafts for drug in d.drugs if drug.is_antimyeloma or drug.is_steroid}
        return next((rid for rid, regimen in self.kb.regimens.items() if set(regimen.drugs) == drafted), None)

    def treatment(self) -> TreatmentDecision | None:
        """The patient-view treatment decision (when at relapse), decided once."""
        if not self._decided:
            self._decided = True
            from clinical_rules.patient_view import decide  # the order checks name its recommendation

            try:
                family = decide(self.facts, self.kb).treatment
            except Exception:  # noqa: BLE001 - naming a regimen is a courtesy; the check stands without it
                family = None
            self._treatment = family.treatment if family is not None else None
        return self._treatment

    def safe(self, regimen_id: str) -> bool:
        """No drug of the regimen is excluded for this patient by a hard rule."""
        return not any(drug_exclusion(d, self.facts, self.kb) for d in self.kb.regimens[regimen_id].drugs)

    def finding(self, check_id: str, check: OrderCheck, summary: Sentence, reasons: Iterable[Sentence],
                facts_used: Iterable[FactUsed], *, drafts: Sequence[DraftOrder], fixes: tuple[Fix, ...] = (),
                rules: Iterable[str] | None = None, indicator: str | None = None, alternatives: bool = False,
                sources: Iterable[str] = (), links: tuple[tuple[str, str], ...] = ()) -> OrderFinding:
        """``rules``: the rules that fired when the check applies a choice of them (O1: H1 or H2);
        ``sources``: what the finding relies on besides the check's own seeds."""
        fired = tuple(check.rules if rules is None else rules)
        # The knowledge base says what the check's card may do to the draft: "none" is a warning
        # to override, otherwise only fixes of that kind are offered.
        fixes = () if check.fix == "none" else tuple(f for f in fixes if f.kind == check.fix)
        return OrderFinding(
            check_id=check_id, title=say(check.title), topic=check.topic,
            indicator=indicator or check.indicator,  # type: ignore[arg-type]
            summary=summary, reasons=tuple(reasons), facts_used=tuple(facts_used),
            provenance=Provenance.of([check_id, *fired], self.kb.version, [*check.seeds, *sources]),
            override_reasons=tuple((c, self.kb.override_reasons[c]) for c in check.override_reasons),
            drafts=tuple(drafts), fixes=fixes, alternatives=alternatives, links=links,
        )
