"""supportive.yaml: supportive-care needs (03 §4) and the codings of proposed ServiceRequests."""

from typing import Annotated

from pydantic import Field, model_validator

from clinical_rules.kbmodel.base import KBModel
from clinical_rules.kbmodel.common import Name, RuleId, Seeds
from clinical_rules.kbmodel.templates import Slots, Template

NeedReason = Annotated[Template, Slots("igg_below_mg_dl", "skip_if_lvef_within_days")]
# Facts an order-hook card about this need lists (clinical_rules.order_checks.supportive_orders).
OrderFact = Annotated[str, Field(pattern=r"^(prior-vte|not-covered|lvef|first-anti-cd38|igg)$")]


class DrugCombination(KBModel):
    """Any drug of ``any_of`` together with every drug of ``with`` (an infusional combination)."""

    any_of: Annotated[tuple[Name, ...], Field(min_length=1)]
    with_: Annotated[tuple[Name, ...], Field(alias="with")] = ()


class SupportiveNeed(KBModel):
    label: Name
    rule_id: RuleId
    seeds: Seeds
    trigger_classes: tuple[Name, ...] = ()
    trigger_drugs: tuple[Name, ...] = ()
    trigger_regimens: tuple[Name, ...] = ()
    trigger_combinations: tuple[DrugCombination, ...] = ()
    covered_by_classes: tuple[Name, ...] = ()
    options: tuple[Name, ...] = ()
    prior_vte_options: tuple[Name, ...] = ()
    services: tuple[Name, ...] = ()
    reason: NeedReason
    prior_vte_reason: NeedReason | None = None
    igg_below_mg_dl: Annotated[float, Field(gt=0)] | None = None
    skip_if_lvef_within_days: Annotated[int, Field(ge=1)] | None = None
    skip_if_exposed_to_classes: tuple[Name, ...] = ()
    order_facts: tuple[OrderFact, ...] = ()
    not_covered: Annotated[Template, Slots("taking")] | None = None  # the "not-covered" order fact

    @model_validator(mode="after")
    def _something_to_offer(self) -> "SupportiveNeed":
        if not (self.trigger_classes or self.trigger_drugs or self.trigger_regimens or self.trigger_combinations):
            raise ValueError("a need has at least one trigger (trigger_classes, trigger_drugs, trigger_regimens "
                             "or trigger_combinations)")
        if not (self.options or self.services):
            raise ValueError("a need offers options (drugs) or services (tests)")
        if bool(self.prior_vte_options) != (self.prior_vte_reason is not None):
            raise ValueError("prior_vte_options and prior_vte_reason go together")
        if ("not-covered" in self.order_facts) != (self.not_covered is not None):
            raise ValueError("the order fact 'not-covered' needs the `not_covered` text, and the text the fact")
        return self


class SupportiveTexts(KBModel):
    measure_label: Annotated[Template, Slots("need", "what")]
