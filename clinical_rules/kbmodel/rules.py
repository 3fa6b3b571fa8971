"""rules.yaml: hard rules, populations, modifiers, decision rows and the other relapse cards' values."""

from typing import Annotated, Literal

from pydantic import Field, model_validator

from clinical_rules.kbmodel.base import KBModel, Table
from clinical_rules.kbmodel.common import Condition, DecisionId, Name, RuleId, Seeds


class HardRules(KBModel):
    refractory_exempt: tuple[Name, ...]
    class_wide_refractoriness: tuple[Name, ...]  # drug classes
    pi_refractory_excludes: tuple[Name, ...]
    drug_populations: dict[Name, Name]  # drug -> population it is limited to
    doublets_frail_only_rows: tuple[Name, ...]
    min_non_refractory_agents: Annotated[int, Field(ge=1)]
    withdrawn: dict[Name, DecisionId]  # drug -> the decision-log entry recording why
    not_in_rule_set: dict[Name, DecisionId]


class Population(KBModel):
    when: Condition
    rule: RuleId


class Modifiers(KBModel):
    heart_failure_avoid: tuple[Name, ...]
    neuropathy_avoid: tuple[Name, ...]
    max_alternatives: Annotated[int, Field(ge=0)]
    # Drugs not studied in end-stage renal disease (dialysis or CrCl below the bound): a caution
    # on the treatment card and on the order card of the drafted drug (D33).
    not_studied_in_esrd: tuple[Name, ...] = ()
    end_stage_renal_crcl_below: Annotated[float, Field(gt=0)] = 15


class BorrowedLists(KBModel):
    anti_cd38_naive: Name
    anti_cd38_exposed: Name


class Row(KBModel):
    id: Annotated[str, Field(pattern=r"^R[0-9]+$")]
    state: Name
    when: Condition
    list: tuple[Name, ...] = ()
    frail_list: tuple[Name, ...] = ()
    lists_of: BorrowedLists | None = None
    referral: Name | None = None  # a reason of cards.yaml referral.reasons: this row asks for the card
    seeds: Seeds

    @model_validator(mode="after")
    def _one_kind_of_list(self) -> "Row":
        if (self.lists_of is None) == (not self.list):
            raise ValueError("a row has either `list` (and optionally `frail_list`) or `lists_of`")
        if self.lists_of is not None and self.frail_list:
            raise ValueError("a row with `lists_of` borrows the frail list too; remove `frail_list`")
        return self


class SalvageTransplant(KBModel):
    rule_id: RuleId
    max_prior_lines: Annotated[int, Field(ge=0)]
    min_months_after_asct: Annotated[float, Field(gt=0)]
    sources_agree_months: Annotated[float, Field(gt=0)]
    service: Name
    seeds: Seeds


class TcrProduct(KBModel):
    """A T-cell redirecting product and its US label population, as facts (03 §8.1)."""

    kind: Literal["car-t", "bispecific"]
    target: Literal["BCMA", "GPRC5D"]
    when: Condition
    sources: Seeds  # the trial and the label behind the population (manifest.yaml sources)
    decision: DecisionId


class Referral(KBModel):
    rule_id: RuleId
    min_prior_lines: Annotated[int, Field(ge=1)]
    service: Name
    seeds: Seeds
    # T-cell redirecting therapy is the preferred next step when one of these holds: the card is a
    # warning shown before the treatment card.
    preferred_when: Annotated[tuple[Condition, ...], Field(min_length=1)]
    bcma_directed: tuple[Name, ...]  # drugs whose exposure is prior BCMA-directed therapy
    products: Table[TcrProduct]  # in the order the card lists them


class CardRule(KBModel):
    rule_id: RuleId
    seeds: Seeds


class RelapseWorkup(CardRule):
    fish: dict[Literal["del17p", "gain1q", "t4_14", "t14_16", "t11_14"], Name]  # abnormality -> service
    marrow_sample: Name
    imaging: Name
    decision: DecisionId


Rows = Annotated[tuple[Row, ...], Field(min_length=1)]
