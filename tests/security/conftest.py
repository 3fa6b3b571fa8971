"""Fixtures for the security tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cds_service.security.circuit_breaker import FHIR_SERVER_BREAKERS


@pytest.fixture(autouse=True)
def _fresh_fhir_circuit_breakers() -> Iterator[None]:
    """Breakers are process-wide: one test's failing server must not open the circuit for the next."""
    FHIR_SERVER_BREAKERS.clear()
    yield
    FHIR_SERVER_BREAKERS.clear()
