"""What an order check concludes: a finding (one card) with its fixes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from clinical_rules.decisions import Dose, FactUsed, Indicator, Provenance, Sentence, SupportiveMeasure
from fhir_mappings.draft_orders import DraftOrder

FixKind = Literal["delete", "update", "create"]


@dataclass(frozen=True, slots=True)
class DraftChange:
    """A correction of one draft (``update``): whatever is not None replaces the draft's."""

    description: str  # what the update does, as the suggestion's action says it
    dose: Dose | None = None
    route: Literal["oral", "subcutaneous", "intravenous"] | None = None
    amount_only: bool = False  # only the amount changes (O7): keep the drafted schedule and route


@dataclass(frozen=True, slots=True)
class Fix:
    """One suggestion of a finding: delete or update a draft, or create a supportive measure."""

    kind: FixKind
    label: str
    draft: DraftOrder | None = None
    change: DraftChange | None = None
    measure: SupportiveMeasure | None = None


@dataclass(frozen=True, slots=True)
class OrderFinding:
    """One card's worth of order check: what was found, why, and how to fix it.

    ``check_id`` is "O1" ... "O12" or "SC-DRAFTED" (the other 03 §4 triggers of drafted drugs);
    ``provenance.rule_ids`` the check and the rules it applied (["O1", "H2"], ["SC-PJP"])."""

    check_id: str
    title: Sentence
    topic: str
    indicator: Indicator
    summary: Sentence
    reasons: tuple[Sentence, ...]
    facts_used: tuple[FactUsed, ...]
    provenance: Provenance
    override_reasons: tuple[tuple[str, str], ...]  # (code, display) in the project's code system
    drafts: tuple[DraftOrder, ...] = ()
    fixes: tuple[Fix, ...] = ()
    alternatives: bool = False  # the fixes are alternatives: choose at most one
    links: tuple[tuple[str, str], ...] = ()  # (label, absolute URL)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return self.provenance.rule_ids
