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
    suggested_by: Annotated[Template, Slots("rule", "version", "seeds")]
    suggested_by_rule: Annotated[Template, Slots("rule", "version")]
    draft_order: Annotated[Template, Slots("text")]
    request: Annotated[Template, Slots("what")]
    facts_used: Text
    disagreements: Text
    record: Annotated[Template, Slots("text", "record")]


class TreatmentSections(KBModel):
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
    excluded: Annotated[Template, Slots("regimens", "reason")]
    passed_over: Annotated[Template, Slots("groups")]
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
    emptied: Text
    label: Text


class ReferralTexts(KBModel):
    summary: Text
    summary_preferred: Text
    reasons: ReferralReasons
    because: Annotated[Template, Slots("reasons")]
    early: Text  # otherwise: refer early, the regimen stays the recommendation for now
    emptied_review: Text
    prior_bcma: Annotated[Template, Slots("drugs")]
    # "{products} — {criteria}" — one line per label population (the bispecifics share one)
    eligible: Annotated[Template, Slots("products", "criteria")]
    product: Annotated[Template, Slots("products", "kind", "evidence")]
    kinds: Table[Text]  # "<kind>-<target>" -> how the card names the kind of product
    evidence: Table[Text]  # product -> its trial and label, as the card cites them
    criteria: Table[Annotated[Template, Slots("value")]]  # fact test -> how a label criterion reads
    exposures: tuple[Name, ...] = ()  # exposure criteria read together ("PI/IMiD-exposed")
    exposed: Annotated[Template, Slots("classes")]
    missing: Annotated[Template, Slots("products", "criteria")]
    missing_criterion: Annotated[Template, Slots("criterion", "on_record")]
    none_eligible: Annotated[Template, Slots("missing")]
    services: Table[Text]  # car-t, bispecific, trial: the ServiceRequest referrals
    override_reasons: OverrideCodes
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
    summary_orders: Annotated[Template, Slots("items")]  # the order hooks' card
    summary_possible_progression: Text
    override_reasons: OverrideCodes


class OverflowTexts(KBModel):
    """The one card that stands for the cards beyond RRMM_CDS_MAX_CARDS of a response."""

    summary: Annotated[Template, Slots("count")]
    shown: Annotated[Template, Slots("shown", "total")]
    more: Annotated[Template, Slots("count")]


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
    overflow: OverflowTexts
    order_card: OrderCardTexts
    links: LinkTexts
