"""order_checks.yaml: the order checks O1–O12 and the supportive-care check of drafted drugs."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from clinical_rules.kbmodel.base import KBModel, Table
from clinical_rules.kbmodel.common import Indicator, Name, RuleId, Seeds, Text, Topic
from clinical_rules.kbmodel.templates import Slots, Template

OverrideCodes = Annotated[tuple[Name, ...], Field(min_length=1)]



class OrderCheck(KBModel):
    title: Text
    rules: tuple[RuleId, ...] = ()  # the rules the check applies, after its own id in the provenance
    topic: Topic
    indicator: Indicator
    fix: Literal["delete", "update", "create", "none"]
    seeds: Seeds
    override_reasons: OverrideCodes


class RefractoryCheck(OrderCheck):  # O1
    summary: Annotated[Template, Slots("drug", "rule")]
    explanation: Annotated[Template, Slots("reason", "rule")]
    class_summary: Annotated[Template, Slots("drug", "rule")]
    class_explanation: Annotated[Template, Slots("reason", "rule")]
    recommended_instead: Annotated[Template, Slots("label", "regimen")]
    recommended_note: Annotated[Template, Slots("regimen")]


class PopulationCheck(OrderCheck):  # O2
    summary: Annotated[Template, Slots("drug", "detail")]
    result: Annotated[Template, Slots("result")]
    no_result: Text
    explanation: Text


class ProphylaxisCheck(OrderCheck):  # O3, O4, O5
    need: Name  # a need of supportive.yaml
    summary: Annotated[Template, Slots("drug", "options")]
    # A caution the card adds when the named check (clinical_rules.predicates) holds for the drafted drugs.
    caution_when: Name | None = None
    caution: Text | None = None


class RenalDoseCheck(OrderCheck):  # O6
    frequency_ratio: Annotated[float, Field(ge=1)]
    summary: Annotated[Template, Slots("drug", "drafted", "target")]
    explanation: Annotated[Template, Slots("drafted", "target_text")]
    fix_label: Annotated[Template, Slots("target")]
    change: Annotated[Template, Slots("drug", "target_text")]


class ElderlyDoseCheck(OrderCheck):  # O7
    drug: Name
    min_drafted_mg: Annotated[float, Field(gt=0)]
    summary: Annotated[Template, Slots("drafted", "age", "target")]
    explanation: Annotated[Template, Slots("age", "target", "drafted")]
    adjustment: Annotated[Template, Slots("adjustment")]
    fix_label: Annotated[Template, Slots("target")]
    change: Annotated[Template, Slots("target")]


class CardiacCheck(OrderCheck):  # O8
    drugs: Annotated[tuple[Name, ...], Field(min_length=1)]
    summary: Annotated[Template, Slots("finding")]
    finding_lvef: Annotated[Template, Slots("value", "date")]
    finding_heart_failure: Text
    explanation: Text


class RouteCheck(OrderCheck):  # O9
    drug: Name
    drafted_route: Literal["oral", "subcutaneous", "intravenous"]
    route: Literal["oral", "subcutaneous", "intravenous"]
    summary: Text
    explanation: Annotated[Template, Slots("target_text")]
    fix_label: Annotated[Template, Slots("target")]
    change: Text


class DoubletCheck(OrderCheck):  # O10
    summary: Annotated[Template, Slots("drug", "steroids")]
    explanation: Text
    triplets: Annotated[Template, Slots("regimens")]
    link: Name  # a link of order_checks.yaml links


class CompanionCheck(OrderCheck):  # O11
    drug: Name
    needs: Annotated[tuple[Name, ...], Field(min_length=1)]
    summary: Text
    explanation: Text


class WithdrawnCheck(OrderCheck):  # O12
    summary: Annotated[Template, Slots("drug", "rule")]
    explanation: Annotated[Template, Slots("drug")]
    decision: Annotated[Template, Slots("id", "decision", "seeds")]


class SupportiveCheck(OrderCheck):  # the other 03 §4 triggers of drafted drugs
    service_indicator: Indicator
    summary: Annotated[Template, Slots("drug", "options")]
    need_options: Annotated[Template, Slots("need", "options")]


class OrderChecks(KBModel):
    model_config = ConfigDict(populate_by_name=True)

    O1: RefractoryCheck
    O2: PopulationCheck
    O3: ProphylaxisCheck
    O4: ProphylaxisCheck
    O5: ProphylaxisCheck
    O6: RenalDoseCheck
    O7: ElderlyDoseCheck
    O8: CardiacCheck
    O9: RouteCheck
    O10: DoubletCheck
    O11: CompanionCheck
    O12: WithdrawnCheck
    supportive: Annotated[SupportiveCheck, Field(alias="SC-DRAFTED")]

    def by_id(self) -> dict[str, OrderCheck]:
        """Check id -> its configuration (the id a card shows: O1 ... O12, SC-DRAFTED)."""
        checks: dict[str, OrderCheck] = {f"O{n}": getattr(self, f"O{n}") for n in range(1, 13)}
        checks["SC-DRAFTED"] = self.supportive
        return checks


class OrderTexts(KBModel):
    remove: Annotated[Template, Slots("draft")]
    drafted: Annotated[Template, Slots("drugs")]


class Link(KBModel):
    label: Name
    url: Annotated[str, Field(pattern=r"^https://")]


OverrideReasons = Table[Name]
Links = Table[Link]
