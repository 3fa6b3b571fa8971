"""FHIR R4 -> clinical facts with provenance. No Flask, no HTTP: plain data in, ``PatientFacts`` out."""

from fhir_mappings.build import build_facts
from fhir_mappings.facts import PatientFacts
from fhir_mappings.index import ResourceIndex

__all__ = ["PatientFacts", "ResourceIndex", "build_facts"]
