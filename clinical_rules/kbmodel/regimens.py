"""regimens.yaml: the regimens the rows may recommend and the order checks recognise."""

from typing import Annotated, Literal

from pydantic import Field

from clinical_rules.kbmodel.base import KBModel
from clinical_rules.kbmodel.common import Name, SourceId, Text


class Regimen(KBModel):
    drugs: Annotated[tuple[Name, ...], Field(min_length=1)]
    kind: Literal["triplet", "doublet", "intensive"]
    seeds: tuple[SourceId, ...] = ()  # required for a regimen a row lists (crossref)
    requires: tuple[Name, ...] = ()  # populations (rules.yaml) the regimen is limited to
    notes: tuple[Text, ...] = ()
    evidence: tuple[Text, ...] = ()
    disagreement: Text | None = None  # shown whenever the regimen is offered
