"""Types shared by several sections: ids, sources, codings, conditions, plain texts."""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from clinical_rules.fact_tests import check_condition
from clinical_rules.kbmodel.base import KBModel
from clinical_rules.kbmodel.templates import Slots, Template

Name = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
SourceId = Annotated[str, StringConstraints(pattern=r"^(S[0-9]|[a-z][a-z0-9-]*)$")]
Seeds = Annotated[tuple[SourceId, ...], Field(min_length=1)]
DecisionId = Annotated[str, StringConstraints(pattern=r"^D[0-9]{2}$")]
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9-]*[A-Z0-9]$|^[A-Z][0-9]{1,2}$")]
Indicator = Literal["info", "warning", "critical"]
Topic = Literal[
    "treatment-recommendation", "supportive-care", "salvage-transplant", "referral", "aggressive-disease",
    "relapse-workup", "data-gap", "contraindication", "dose-adjustment", "regimen-intensity",
]
Route = Literal["oral", "subcutaneous", "intravenous"]
PeriodUnit = Literal["h", "d", "wk"]
DoseUnit = Literal["mg", "mg/m2", "mg/kg"]
# A condition on named facts (clinical_rules.fact_tests): {lenalidomide_refractory: true, min_prior_lines: 2}
Condition = Annotated[dict[str, Any], AfterValidator(check_condition)]

# Texts without slots (they may still name knowledge-base values).
Text = Annotated[Template, Slots()]


class Coding(KBModel):
    system: Annotated[str, StringConstraints(pattern=r"^(https?|urn):")]
    code: Name
    display: Name
