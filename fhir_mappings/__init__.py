"""FHIR R4 -> clinical facts with provenance. No Flask, no HTTP: plain data in, ``PatientFacts`` out."""
