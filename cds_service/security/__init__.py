"""Security: client JWT verification, the fhirServer allow-list, request limits."""
