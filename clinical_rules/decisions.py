"""Decision types: what the rules conclude, with the trace every card and the explain view need.

Everything here is immutable and free of FHIR and of card layout. Sentences stay data — a
knowledge-base template and its values (:class:`Sentence`) — until a card or the decision trace
renders them, so the trace can show both the rule's reasons as data and as text. Every suggestion
carries its provenance: rule ids, the knowledge-base version and its sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from clinical_rules.kbmodel.templates import Template

if TYPE_CHECKING:  # the facts contract is only needed for annotations here
    from fhir_mappings.facts import Evidence

Indicator = Literal["info", "warning", "critical"]
MeasureKind = Literal["medication", "service"]
Status = Literal["no-myeloma", "not-at-relapse", "new-line-started", "possible-progression", "relapse"]


@dataclass(frozen=True, slots=True)
class Sentence:
    """A clinician-facing sentence: the knowledge-base text and the values of its slots."""

    template: Template
    values: tuple[tuple[str, Any], ...] = ()

    @property
    def text(self) -> str:
        return self.template.render(**dict(self.values))

    @property
    def key(self) -> str:
        """Where the text is in the knowledge base ("cards.yaml: cards.treatment.summary")."""
        return self.template.path


def say(template: Template, **values: Any) -> Sentence:
    return Sentence(template, tuple(values.items()))


def composed(text: str) -> Sentence:
    """A sentence Python already put together from knowledge-base texts (or the mapping's own
    wording of a note): shown as it is."""
    return Sentence(_COMPOSED, (("text", text),))


_COMPOSED = Template("{text}", ("text",))
_COMPOSED.path = "composed"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Why a card says what it says: the rules that fired (in order), the knowledge-base version
    and the sources behind them (ids of manifest.yaml ``sources``). The one model behind the
    card's provenance line, its extension and the audit trail."""

    rule_ids: tuple[str, ...]
    kb_version: str
    sources: tuple[str, ...] = ()

    @staticmethod
    def of(rule_ids: Iterable[str], kb_version: str, sources: Iterable[str] = ()) -> Provenance:
        return Provenance(tuple(dict.fromkeys(r for r in rule_ids if r)), kb_version,
                          tuple(dict.fromkeys(s for s in sources if s)))


@dataclass(frozen=True, slots=True)
class Coding:
    """A terminology code, e.g. SNOMED 40701008 (echocardiography)."""

    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class Dose:
    """One drug's starting dose in a suggested order (03 §5).

    ``value``/``unit`` are the structured dose (UCUM ``mg``, ``mg/m2`` or ``mg/kg``); the timing
    fields map onto a FHIR ``Timing.repeat``: ``frequency`` administrations per ``period``
    ``period_unit``. ``text`` is the order's dosage text; ``total_mg`` the computed absolute dose for
    mg/m2 (BSA) or mg/kg (weight) doses when the body measurement is known.
    """

    drug: str
    value: float
    unit: str
    route: Literal["oral", "subcutaneous", "intravenous"]
    frequency: int
    period: float
    period_unit: Literal["h", "d", "wk"]
    schedule: str
    text: str
    total_mg: float | None = None
    rxnorm: str | None = None  # RxNorm ingredient code when the drug catalogue has one
    adjustments: tuple[Sentence, ...] = ()
    rule_id: str = "DOSE"
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
    notes: tuple[Sentence, ...] = ()
    seeds: tuple[str, ...] = ()
    row_id: str = ""
    list_row_id: str = ""  # the row whose list it came from (R9 borrows R6 / R7)
    kb_version: str = ""


@dataclass(frozen=True, slots=True)
class SupportiveMeasure:
    """One supportive-care suggestion (03 §4): a MedicationRequest or a ServiceRequest to create.

    ``need`` names the need it covers (a key of supportive.yaml, e.g. "vte-prophylaxis") and
    ``need_label`` says it; several measures of one need are alternatives (any one covers it).
    ``drug`` + ``dose`` for medications, ``service`` for service requests.
    """

    id: str
    need: str
    need_label: str
    kind: MeasureKind
    label: str
    reason: Sentence
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
    label: Sentence
    coding: Coding
    reason: Sentence
    rule_id: str
    seeds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DataGap:
    """One missing input and what to record; ``blocks_dosing`` raises the card to warning."""

    code: str
    name: Sentence
    text: Sentence
    record: Sentence
    blocks_dosing: bool = False
    evidence: tuple[Evidence, ...] = ()
    # A gap with a rule of its own (the dose labs of drafted drugs: rule and decision): the card cites them too.
    rule_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    facts_used: tuple[FactUsed, ...] = ()  # the stale value the gap is about, with its resource


@dataclass(frozen=True, slots=True)
class ReportedGap:
    """A gap the caller hands in (a FHIR search that failed, resources in another FHIR version):
    its ``kind`` (a key of data_gaps.yaml ``reported``) and the values its texts name
    (``resource_type``, ``status`` ...)."""

    kind: str
    values: tuple[tuple[str, str], ...] = ()

    @staticmethod
    def of(kind: str, **values: object) -> ReportedGap:
        return ReportedGap(kind, tuple((k, str(v)) for k, v in values.items()))


@dataclass(frozen=True, slots=True)
class FactUsed:
    """A fact the decision relied on, with the resources behind it (for the card detail)."""

    label: Sentence
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A regimen of the row's list that a hard rule removed, and why (``drug``: the drug that
    made it go, when a drug did)."""

    regimen_id: str
    rule_id: str
    reason: Sentence
    drug: str | None = None


@dataclass(frozen=True, slots=True)
class Modifier:
    """What the heart-failure / neuropathy modifiers did (03 §3): ``kind`` is "heart-failure",
    "neuropathy", "both", "both-cardiac-first" or "list-order" (none could apply); ``chosen`` the
    regimen moved to the front (None when the list order stands)."""

    kind: str
    chosen: str | None
    passed_over: tuple[str, ...]
    note: Sentence


@dataclass(frozen=True, slots=True)
class TreatmentDecision:
    """The row that fired and what survived it (03 §3)."""

    row_id: str
    list_row_id: str
    row_state: str
    seeds: tuple[str, ...]
    candidates: tuple[str, ...]  # the preference list used, before the hard rules
    options: tuple[RegimenOption, ...]  # recommended first, then up to the KB's number of alternatives
    exclusions: tuple[Exclusion, ...]
    modifiers: tuple[Modifier, ...]
    notes: tuple[Sentence, ...]
    disagreements: tuple[Sentence, ...] = ()
    list_emptied: bool = False

    @property
    def recommended(self) -> RegimenOption | None:
        return self.options[0] if self.options else None


@dataclass(frozen=True, slots=True)
class InfoCard:
    """A relapse card beside the treatment card (salvage ASCT, referral, aggressive disease,
    relapse work-up), as the card renderer needs it."""

    family: str
    topic: str
    indicator: Indicator
    summary: Sentence
    reasons: tuple[Sentence, ...]
    provenance: Provenance
    disagreements: tuple[Sentence, ...] = ()
    services: tuple[ServiceProposal, ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (label, absolute URL)
    facts_used: tuple[FactUsed, ...] = ()
    override_reasons: tuple[tuple[str, str], ...] = ()  # (code, display)
    precedes: str | None = None  # a family whose cards this card is shown before ("treatment")
    # The referral card: each T-cell redirecting product's label population judged on the facts
    # (clinical_rules.tcr_eligibility.Eligibility), for the decision trace.
    eligibility: Any = None


@dataclass(frozen=True, slots=True)
class DataGapCard:
    gaps: tuple[DataGap, ...]
    summary: Sentence
    provenance: Provenance
    facts_used: tuple[FactUsed, ...] = ()
    override_reasons: tuple[tuple[str, str], ...] = ()

    @property
    def blocks_dosing(self) -> bool:
        return any(g.blocks_dosing for g in self.gaps)


@dataclass(frozen=True, slots=True)
class TreatmentFamily:
    """The treatment decision and what its cards need: its supportive care and the facts used."""

    treatment: TreatmentDecision
    supportive: tuple[SupportiveMeasure, ...]
    facts_used: tuple[FactUsed, ...]


@dataclass(frozen=True, slots=True)
class RelapseDecision:
    """The whole patient-view conclusion for one patient at one date.

    ``status`` says why there may be no cards: "no-myeloma", "new-line-started", "not-at-relapse"
    (cards only for the gaps shown outside relapse), "possible-progression" (one data-gap card) or
    "relapse". ``failed_families`` names the families whose rule raised: they give no card.
    """

    status: Status
    kb_version: str
    treatment: TreatmentFamily | None = None
    info_cards: tuple[InfoCard, ...] = ()
    data_gaps: DataGapCard | None = None
    failed_families: tuple[str, ...] = field(default=())

    @property
    def silent(self) -> bool:
        return self.treatment is None and not self.info_cards and self.data_gaps is None

    def family(self, name: str) -> InfoCard | None:
        return next((card for card in self.info_cards if card.family == name), None)

