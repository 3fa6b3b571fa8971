"""facts.yaml: one wording per fact, for every card."""

from typing import Annotated

from clinical_rules.kbmodel.base import KBModel, Table
from clinical_rules.kbmodel.common import Name, Text
from clinical_rules.kbmodel.templates import Slots, Template


class Findings(KBModel):
    heart_failure: Text
    neuropathy: Text
    vte_history: Text
    plasma_cell_leukaemia: Text
    extramedullary: Text


class FactTexts(KBModel):
    progression: Annotated[Template, Slots("date", "description")]
    prior_lines: Annotated[Template, Slots("count")]
    refractory: Annotated[Template, Slots("drug", "progression", "exposure")]
    refractory_to: Annotated[Template, Slots("drugs", "progression")]  # several drugs, one progression
    refractory_latest: Annotated[Template, Slots("date")]  # the progression's date (its values: above / extension)
    refractory_progression: Annotated[Template, Slots("date", "description")]
    refractory_while_on: Annotated[Template, Slots("drug", "start")]
    refractory_exposure: Annotated[Template, Slots("drug", "start", "end")]
    anti_cd38_exposed: Annotated[Template, Slots("since")]
    since: Annotated[Template, Slots("start")]
    triple_class_refractory: Text
    penta_refractory: Text
    asct: Annotated[Template, Slots("date")]
    date_unknown: Text
    months_asct_to_progression: Annotated[Template, Slots("months")]
    cytogenetic: Annotated[Template, Slots("abnormality", "result", "date")]
    cytogenetic_date: Annotated[Template, Slots("date")]
    no_cytogenetic_result: Annotated[Template, Slots("abnormality")]
    positive: Text
    negative: Text
    age: Annotated[Template, Slots("age")]
    ecog: Annotated[Template, Slots("value", "date")]
    proxies: Annotated[Template, Slots("frail", "eligible")]
    yes: Text
    no: Text
    dialysis: Text
    recorded: Annotated[Template, Slots("fact", "date")]
    crcl: Annotated[Template, Slots("value", "method")]
    creatinine: Annotated[Template, Slots("value", "date")]
    weight: Annotated[Template, Slots("value", "date")]
    renal_methods: Table[Name]
    findings: Findings
    no_vte_history: Text
    lvef: Annotated[Template, Slots("value", "date")]
    lvef_older: Annotated[Template, Slots("value", "date", "days")]
    no_lvef: Text
    igg: Annotated[Template, Slots("value", "date")]
    circulating_plasma_cells: Annotated[Template, Slots("value", "date")]
    first_anti_cd38: Annotated[Template, Slots("drugs")]
    unconfirmed_rise: Annotated[Template, Slots("description")]
    current_drugs: Annotated[Template, Slots("drugs")]
    no_current_drugs: Text
    abnormalities: Table[Name]
