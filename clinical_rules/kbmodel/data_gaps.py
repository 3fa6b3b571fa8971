"""data_gaps.yaml: the items of the data-gap card and the gaps a caller may hand in."""

from typing import Annotated

from pydantic import Field, model_validator

from clinical_rules.kbmodel.base import KBModel, Table
from clinical_rules.kbmodel.cards import CheckText
from clinical_rules.kbmodel.common import DecisionId, Name, RuleId, Seeds, Text
from clinical_rules.kbmodel.templates import Slots, Template


class GapItem(KBModel):
    when: Name  # a named check (clinical_rules.predicates)
    outside_relapse: bool = False
    in_order_hooks: bool = False  # also judged on the drafted drugs in order-select / order-sign
    name: Text  # how the card's summary lists it
    text: CheckText
    record: CheckText
    blocking_when: Name | None = None  # the gap blocks dosing (warning card) when this check holds
    blocking_text: CheckText | None = None

    @model_validator(mode="after")
    def _blocking_pair(self) -> "GapItem":
        if (self.blocking_when is None) != (self.blocking_text is None):
            raise ValueError("blocking_when and blocking_text go together")
        return self


DoseLabText = Annotated[Template, Slots("drugs", "lab", "date")]


class DoseLab(KBModel):
    """A laboratory value the dose check of a drafted drug needs (order hooks; D36). Judged per
    judged draft of one of ``drugs``: missing, older than its window, or recent but not enough
    to dose (a creatinine without the weight the CrCl needs) is a data-gap item that blocks
    dosing. Which lab each key reads is ``clinical_rules.dose_labs.LABS``."""

    rule_id: RuleId
    seeds: Seeds
    decision: DecisionId
    drugs: Annotated[tuple[Name, ...], Field(min_length=1)]
    lab_names: Table[Name]  # how the card names each kind of value ({lab}): creatinine, eGFR ...
    name: DoseLabText  # how the card's summary lists the gap
    missing: DoseLabText  # no value at any date
    stale: DoseLabText  # the last value is older than the window
    incomplete: DoseLabText  # a recent value that cannot dose on its own
    record: DoseLabText
    record_incomplete: DoseLabText


class PossibleProgressionGap(KBModel):
    name: Text
    text: Annotated[Template, Slots("description", "date")]
    record: Text


# Slots of caller-reported gaps are whatever the caller names; missing ones read as "?".
REPORTED_SLOTS = ("kind", "key", "resource_type", "reason", "status", "version", "count", "source", "effect")
ReportedText = Annotated[Template, Slots(*REPORTED_SLOTS)]


class SourceText(KBModel):
    name: Text
    effect: Text


class ReportedGap(KBModel):
    name: ReportedText
    text: ReportedText
    record: ReportedText
    # How a source is named ({source}) and what the answer could not take into account without it
    # ({effect}), per prefetch key or resource type, then `default`.
    sources: Table[SourceText] = {}

    @model_validator(mode="after")
    def _default_source(self) -> "ReportedGap":
        if self.sources and "default" not in self.sources:
            raise ValueError("sources needs a `default` entry")
        return self

    def source(self, key: str, resource_type: str) -> "SourceText | None":
        if not self.sources:
            return None
        return self.sources.get(key) or self.sources.get(resource_type) or self.sources["default"]


class DataGaps(KBModel):
    rule_id: RuleId
    seeds: Seeds
    items: Table[GapItem]
    mapping_notes: Table[Name]  # PatientFacts.notes code -> how the summary lists it
    mapping_note_record: Text
    possible_progression: PossibleProgressionGap
    reported: Table[ReportedGap]
    dose_labs: Table[DoseLab] = {}

    @model_validator(mode="after")
    def _other_kind(self) -> "DataGaps":
        if "other" not in self.reported:
            raise ValueError("reported needs an `other` entry (for kinds it does not describe)")
        return self
