"""Decision types: what the rules conclude, with the trace every card needs.

Everything here is immutable and free of FHIR and of card layout. ``cds_cards`` turns these into
CDS Hooks cards and FHIR resources; ``clinical_rules`` produces them. Every suggestion carries the
rule id that produced it, the knowledge-base version and the seeds (``"S0"`` ... ``"S4"``, or a
non-seed source such as ``"label"``) behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the facts contract is only needed for annotations here
    from fhir_mappings.facts import Evidence

Indicator = Literal["info", "warning", "critical"]
MeasureKind = Literal["medication", "service"]


@dataclass(frozen=True, slots=True)
class Coding:
    """A terminology code, e.g. SNOMED 40701008 (echocardiography)."""

    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class Dose:
    """One drug's starting dose in a suggested order (03 §5).

    ``value``/``unit`` are the structured dose (UCUM ``mg``, ``mg/m2`` or ``mg/kg``).
    The timing fields map onto a FHIR ``Timing.repeat``: ``frequency`` administrations per
    ``period`` ``period_unit`` (UCUM units of time: ``h``, ``d``, ``wk``). ``cycle_days`` says
    where in the cycle the doses fall ("days 1-21 of each 28-day cycle"); it is part of ``text``.
    ``total_mg`` is the computed absolute dose for mg/m2 (BSA) or mg/kg (weight) doses when the
    body measurement is known, else None.
    """

    drug: str
    value: float
    unit: str
    route: Literal["oral", "subcutaneous", "intravenous"]
    frequency: int
    period: float
    period_unit: Literal["h", "d", "wk"]
    cycle_days: str
    text: str
    total_mg: float | None = None
    rxnorm: str | None = None  # RxNorm ingredient code when drugs.json has one
    adjustments: tuple[str, ...] = ()
    rule_id: str = "03§5"
    seeds: tuple[str, ...] = ()
    kb_version: str = ""


@dataclass(frozen=True, slots=True)
class RegimenOption:
    """A regimen offered in the treatment card; ``label`` is "DRd — daratumumab, lenalidomide, ..."."""

    regimen_id: str
    label: str
    drugs: tuple[str, ...]
    doses: tuple[Dose, ...]
    recommended: bool
    notes: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()
    rule_id: str = ""
    kb_version: str = ""


@dataclass(frozen=True, slots=True)
class SupportiveMeasure:
    """One supportive-care suggestion (03 §4): a MedicationRequest or a ServiceRequest to create.

    ``group`` names the need it covers ("vte-prophylaxis", "zoster-prophylaxis", "antiemetic",
    "pjp-prophylaxis", "cardiac-baseline", "type-and-screen", "immunoglobulin"); several measures of one group are alternatives (any one covers
    the need). ``drug`` + ``dose`` for medications, ``service`` for service requests.
    """

    id: str
    group: str
    kind: MeasureKind
    label: str
    reason: str
    trigger_drugs: tuple[str, ...]
    rule_id: str
    seeds: tuple[str, ...]
    kb_version: str
    drug: str | None = None
    dose: Dose | None = None
    service: Coding | None = None


@dataclass(frozen=True, slots=True)
class ServiceProposal:
    """A ServiceRequest to propose outside supportive care (relapse work-up, referrals)."""

    id: str
    label: str
    coding: Coding
    reason: str
    rule_id: str
    seeds: tuple[str, ...]
    kb_version: str


@dataclass(frozen=True, slots=True)
class DataGap:
    """One missing input and what to record; ``blocks_dosing`` raises the card to warning."""

    code: str
    text: str
    record: str
    blocks_dosing: bool = False
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class FactUsed:
    """A fact the decision relied on, with the resources behind it (for the card detail)."""

    label: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A regimen of the row's list that a hard rule removed, and why."""

    regimen_id: str
    rule_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class TreatmentDecision:
    """The row that fired and what survived it (03 §3)."""

    row_id: str
    row_state: str
    seeds: tuple[str, ...]
    options: tuple[RegimenOption, ...]  # recommended first, then up to four alternatives
    exclusions: tuple[Exclusion, ...]
    modifiers: tuple[str, ...]  # sentences saying which modifier chose the recommendation
    notes: tuple[str, ...]  # high-risk note, cilta-cel note, "second ASCT not advised", ...
    list_emptied: bool = False

    @property
    def recommended(self) -> RegimenOption | None:
        return self.options[0] if self.options else None


@dataclass(frozen=True, slots=True)
class InfoCard:
    """A non-treatment card the decision asks for (salvage ASCT, referral, aggressive disease,
    relapse work-up): rendered by ``cds_cards`` with the text taken from the knowledge base."""

    topic: str
    indicator: Indicator
    summary: str
    reasons: tuple[str, ...]
    rule_id: str
    seeds: tuple[str, ...]
    disagreements: tuple[str, ...] = ()
    services: tuple[ServiceProposal, ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (label, absolute URL)
    facts_used: tuple[FactUsed, ...] = ()


@dataclass(frozen=True, slots=True)
class RelapseDecision:
    """The whole patient-view conclusion for one patient at one date.

    ``status`` says why there may be no cards: "no-myeloma", "not-at-relapse",
    "new-line-started", "possible-progression" (one data-gap card only) or "relapse".
    ``failed_families`` names the families whose rule raised: they give no card, the rest stand.
    """

    status: Literal["no-myeloma", "not-at-relapse", "new-line-started", "possible-progression", "relapse"]
    kb_version: str
    facts_used: tuple[FactUsed, ...] = ()
    treatment: TreatmentDecision | None = None
    supportive: tuple[SupportiveMeasure, ...] = ()
    info_cards: tuple[InfoCard, ...] = ()
    data_gaps: tuple[DataGap, ...] = ()
    disagreements: tuple[str, ...] = field(default=())
    failed_families: tuple[str, ...] = ()  # card families dropped because their rule raised (logged)

    @property
    def silent(self) -> bool:
        return self.status in ("no-myeloma", "not-at-relapse", "new-line-started")
