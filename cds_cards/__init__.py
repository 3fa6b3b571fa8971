"""Decisions -> CDS Hooks cards with FHIR R4 suggestions (built with fhir.resources.R4B)."""
