"""FHIR R4 -> clinical facts with provenance. No Flask, no HTTP: plain data in, ``PatientFacts`` out."""

from fhir_mappings.build import build_facts
from fhir_mappings.facts import PatientFacts
from fhir_mappings.index import ResourceIndex
from fhir_mappings.parameters import DEFAULT_PARAMETERS, DerivationParameters

__all__ = ["DEFAULT_PARAMETERS", "DerivationParameters", "PatientFacts", "ResourceIndex", "build_facts"]
