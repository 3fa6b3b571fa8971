"""cards.yaml: the texts of every card, and how cards are laid out."""

from typing import Annotated

from pydantic import Field

from clinical_rules.fact_tests import FACT_TESTS
from clinical_rules.kbmodel.base import KBModel, Table
from clinical_rules.kbmodel.common import Name, Text
from clinical_rules.kbmodel.templates import Slots, Template
from clinical_rules.predicates import CHECKS

# Texts attached to a named check: the check's own slots (verified per entry once loaded).
CheckText = Annotated[Template, Slots(*sorted({slot for check in CHECKS.values() for slot in check.slots}))]
PopulationText = Annotated[Template, Slots(*FACT_TESTS)]
OverrideCodes = Annotated[tuple[Name, ...], Field(min_length=1)]



class Layout(KBModel):
    provenance: Annotated[Template, Slots("rules", "version", "sources")]
    provenance_source: Annotated[Template, Slots("id", "title")]
    fact_sources: Annotated[Template, Slots("references", "more")]
    more_sources: Annotated[Template, Slots("count")]
    suggested_by: Annotated[Template, Slots("rule", "version", "seeds")]
    suggested_by_rule: Annotated[Template, Slots("rule", "version")]
    draft_order: Annotated[Template, Slots("text")]
    request: Annotated[Template, Slots("what")]
    facts_used: Text
    disagreements: Text
    record: Annotated[Template, Slots("text", "record")]


class TreatmentSections(KBModel):
    why: Text
    doses: Text
    notes: Text


class ModifierTexts(KBModel):
    heart_failure: Text
    neuropathy: Text
    both: Text
    both_cardiac_first: Text
    list_order_stands: Text


class TreatmentTexts(KBModel):
    summary: Annotated[Template, Slots("row", "regimen")]
    regimen_label: Annotated[Template, Slots("regimen", "drugs")]
    headline: Annotated[Template, Slots("regimen", "rule", "state")]
    borrowed_state: Annotated[Template, Slots("state", "list_row")]
    borrowed_rule: Annotated[Template, Slots("row", "list_row")]
    sections: TreatmentSections
    first_row: Annotated[Template, Slots("row", "state")]
    excluded: Annotated[Template, Slots("regimen", "rule", "reason")]
    alternatives: Annotated[Template, Slots("regimens")]
    order_reason: Annotated[Template, Slots("regimen")]
    modifiers: ModifierTexts
    notes_when: Table[CheckText]  # check name -> note, in card order
    disagreements_when: Table[CheckText]


class ExclusionTexts(KBModel):
    withdrawn: Annotated[Template, Slots("drug")]
    lenalidomide_refractory: Text
    refractory: Annotated[Template, Slots("drug")]
    class_refractory: Annotated[Template, Slots("drug_class", "drug")]
    pi_refractory_switch: Annotated[Template, Slots("drug")]
    outside_population: Annotated[Template, Slots("subject", "population")]
    too_few_active_agents: Annotated[Template, Slots("regimen")]
    frail_only_doublet: Annotated[Template, Slots("regimen", "row")]


class SupportiveCardTexts(KBModel):
    summary: Annotated[Template, Slots("regimen", "needs")]
    headline: Annotated[Template, Slots("regimen")]
    why: Text
    reason: Annotated[Template, Slots("need", "reason", "rule", "seeds")]
    already_taken: Text
    order_reason: Annotated[Template, Slots("reason", "drugs")]


class SalvageTexts(KBModel):
    summary: Text
    never_transplanted: Text
    after_asct: Annotated[Template, Slots("months")]
    disagreement: Text
    relapse: Annotated[Template, Slots("lines")]
    referral_label: Text
    proxy: Text


class ReferralReasons(KBModel):
    penta: Text
    tcr: Text
    lines: Annotated[Template, Slots("lines")]
    emptied: Annotated[Template, Slots("row")]


class ReferralTexts(KBModel):
    summary: Text
    reasons: ReferralReasons
    because: Annotated[Template, Slots("reasons")]
    referral_label: Text
    body: Text
    links: tuple[Name, ...] = ()


class AggressiveTexts(KBModel):
    summary: Annotated[Template, Slots("findings")]
    body: Text
    override_reasons: OverrideCodes


class WorkupService(KBModel):
    label: Text
    reason: Text
    short: Text | None = None  # how the card's summary names it (unnamed: not in the summary)


class WorkupTexts(KBModel):
    summary: Annotated[Template, Slots("items")]
    no_cytogenetics: Text
    fish_on_file: Text
    imaging: Text
    disagreement: Annotated[Template, Slots("decision")]
    services: Table[WorkupService]


class DataGapCardTexts(KBModel):
    summary: Annotated[Template, Slots("items")]
    summary_possible_progression: Text
    override_reasons: OverrideCodes


class OrderCardTexts(KBModel):
    heading: Annotated[Template, Slots("check", "title")]
    drafted: Annotated[Template, Slots("drafts")]
    facts_used: Text
    from_text: Text
    delete: Annotated[Template, Slots("draft")]
    create: Annotated[Template, Slots("measure")]


class LinkTexts(KBModel):
    timeline: Text  # the SMART link to the relapse timeline app (treatment and referral cards)


class CardTexts(KBModel):
    source_label: Annotated[Template, Slots("version")]
    order_source_label: Annotated[Template, Slots("version")]
    topics: Table[Name]
    family_order: tuple[Name, ...]
    layout: Layout
    treatment: TreatmentTexts
    exclusions: ExclusionTexts
    populations: Table[PopulationText]
    supportive: SupportiveCardTexts
    salvage_transplant: SalvageTexts
    referral: ReferralTexts
    aggressive: AggressiveTexts
    workup: WorkupTexts
    data_gap: DataGapCardTexts
    order_card: OrderCardTexts
    links: LinkTexts
