"""rules.yaml: hard rules, populations, modifiers, decision rows and the other relapse cards' values."""

from typing import Annotated, Literal

from pydantic import Field, model_validator

from clinical_rules.kbmodel.base import KBModel
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


class Referral(KBModel):
    rule_id: RuleId
    min_prior_lines: Annotated[int, Field(ge=1)]
    service: Name
    seeds: Seeds


class CardRule(KBModel):
    rule_id: RuleId
    seeds: Seeds


class RelapseWorkup(CardRule):
    fish: dict[Literal["del17p", "gain1q", "t4_14", "t14_16", "t11_14"], Name]  # abnormality -> service
    marrow_sample: Name
    imaging: Name
    decision: DecisionId


Rows = Annotated[tuple[Row, ...], Field(min_length=1)]
