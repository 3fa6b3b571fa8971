"""doses.yaml: starting doses with their regimen-specific forms and adjustments (03 §5)."""

from typing import Annotated

from pydantic import Field, model_validator

from clinical_rules.kbmodel.base import KBModel, Table
from clinical_rules.kbmodel.common import Coding, DoseUnit, Name, PeriodUnit, Route, Seeds, Text
from clinical_rules.kbmodel.templates import Slots, Template

Positive = Annotated[float, Field(gt=0)]
Frequency = Annotated[int, Field(ge=1)]
# The reason of an adjustment, with the adjusted dose's own values as slots.
AdjustmentReason = Annotated[
    Template, Slots("value", "unit", "timing", "route", "crcl_below", "crcl_from", "age_above", "factor", "standard")
]


class StandardDose(KBModel):
    value: Positive
    unit: DoseUnit
    route: Route
    frequency: Frequency
    period: Positive
    period_unit: PeriodUnit
    schedule: Text


class DoseChange(KBModel):
    """Any field of the standard dose, changed (a regimen-specific dose, a renal band ...)."""

    value: Positive | None = None
    unit: DoseUnit | None = None
    route: Route | None = None
    frequency: Frequency | None = None
    period: Positive | None = None
    period_unit: PeriodUnit | None = None
    schedule: Text | None = None

    def changed(self) -> dict[str, object]:
        """The fields this change sets (read one by one, so the coverage check sees them)."""
        names = ("value", "unit", "route", "frequency", "period", "period_unit", "schedule")
        return {name: getattr(self, name) for name in names if name in self.model_fields_set}


class RenalBand(DoseChange):
    dialysis: bool = False
    crcl_below: Positive | None = None
    reason: AdjustmentReason

    @model_validator(mode="after")
    def _one_criterion(self) -> "RenalBand":
        if self.dialysis == (self.crcl_below is not None):
            raise ValueError("a renal band is either {dialysis: true} or {crcl_below: N}")
        return self


class NeuropathyChange(DoseChange):
    reason: AdjustmentReason
    # The change within a regimen whose cycle the general change does not fit (weekly bortezomib
    # in 21-day cycles; dexamethasone following it). A drug with only regimen entries changes
    # nowhere else.
    regimens: Table[DoseChange] = {}

    def changed_in(self, regimen_id: str | None) -> dict[str, object]:
        """The fields set for ``regimen_id``: the general change, then the regimen's own."""
        fields = self.changed()
        specific = self.regimens.get(regimen_id) if regimen_id is not None else None
        if specific is not None:
            fields.update(specific.changed())
        return fields


class ElderlyChange(KBModel):
    age_above: Annotated[int, Field(ge=0)]
    factor: Annotated[float, Field(gt=0, le=1)]
    reason: AdjustmentReason


class DrugDose(KBModel):
    standard: StandardDose
    seeds: Seeds
    standard_in: tuple[Name, ...] = ()  # regimens that use the standard dose
    regimens: Table[DoseChange] = {}  # regimen -> its own dose
    bsa_cap_m2: Positive | None = None
    renal: tuple[RenalBand, ...] = ()
    neuropathy: NeuropathyChange | None = None
    elderly: ElderlyChange | None = None


class DoseTexts(KBModel):
    order: Annotated[Template, Slots("drug", "dose", "schedule")]
    routed_schedule: Annotated[Template, Slots("route", "schedule")]
    amount: Annotated[Template, Slots("value", "unit")]
    total_by_bsa: Annotated[Template, Slots("amount", "total", "bsa", "capped")]
    bsa_capped: Annotated[Template, Slots("cap")]
    total_by_weight: Annotated[Template, Slots("amount", "total", "weight")]
    total_unknown: Annotated[Template, Slots("amount")]
    adjusted: Annotated[Template, Slots("text", "adjustments")]
    renal_unknown: Text


class RouteTerms(KBModel):
    coding: Coding
    # Words that show a schedule names the route; the first is how a dose text says it ("orally").
    named_by: Annotated[tuple[Name, ...], Field(min_length=1)]


class TimingTexts(KBModel):
    named: Table[Name]  # "frequency/period unit" -> words ("1/1d": daily)
    other: Annotated[Template, Slots("frequency", "period", "unit")]
    unit_words: Table[Name]


class OrderCodings(KBModel):
    dose_rate_ordered: Coding
