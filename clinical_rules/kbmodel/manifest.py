"""manifest.yaml (identity and sources), drugs.yaml (catalogue additions), decision_log.yaml."""

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from clinical_rules.kbmodel.base import KBModel
from clinical_rules.kbmodel.common import DecisionId, Name


class Source(KBModel):
    title: Name
    short: Name  # how a card's source line names it ("CASTOR", "S0 (AI-generated summary …)")
    kind: Literal["seed", "label", "publication", "consensus", "trial"]


class DrugBrand(KBModel):
    name: Name
    rxnorm: Annotated[str, StringConstraints(pattern=r"^[0-9]+$")] | None = None


class DrugAddition(KBModel):
    """A drug the terminology (fhir_mappings/data/drugs.json) does not know yet, in its shape."""

    generic: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9 -]*$")]
    rxnorm: Annotated[str, StringConstraints(pattern=r"^[0-9]+$")] | None = None
    brands: tuple[DrugBrand, ...] = ()
    synonyms: tuple[Name, ...] = ()
    classes: Annotated[tuple[Name, ...], Field(min_length=1)]
    role: Literal["antimyeloma", "steroid", "supportive"]


class DecisionLogEntry(KBModel):
    id: DecisionId
    topic: Name
    seeds: Name
    decision: Name


Version = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}\.[0-9]+$")]
DecisionLog = Annotated[tuple[DecisionLogEntry, ...], Field(min_length=1)]
