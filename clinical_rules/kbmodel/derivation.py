"""derivation.yaml: the derivation windows and thresholds, field for field
``fhir_mappings.parameters.DerivationParameters`` (the model is built from that dataclass, so a
field the mapping adds is a field here: set in the YAML, never a code default in force)."""

import dataclasses
import typing

from pydantic import create_model

from clinical_rules.kbmodel.base import KBModel
from fhir_mappings.parameters import DerivationParameters

_HINTS = typing.get_type_hints(DerivationParameters)

DerivationSection: type[KBModel] = create_model(  # type: ignore[call-overload]
    "DerivationSection",
    __base__=KBModel,
    __doc__="Every field of fhir_mappings.parameters.DerivationParameters, required.",
    **{field.name: (_HINTS[field.name], ...) for field in dataclasses.fields(DerivationParameters)},
)


def to_parameters(section: KBModel) -> DerivationParameters:
    """The parameters object ``build_facts`` takes (names checked by ``from_mapping``)."""
    values = {field.name: section.__dict__[field.name] for field in dataclasses.fields(DerivationParameters)}
    return DerivationParameters.from_mapping(values)
