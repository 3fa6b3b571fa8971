"""Shared test configuration: makes ``tests/helpers.py`` importable as ``helpers`` everywhere.

Fixtures used by several areas live here; area-specific fixtures belong in ``tests/<area>/conftest.py``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from cds_service.config import Settings  # noqa: E402 - after the path set-up above
from cds_service.security.circuit_breaker import FHIR_SERVER_BREAKERS  # noqa: E402

FIXED_NOW = datetime(2026, 3, 15, 14, 30, tzinfo=UTC)


@pytest.fixture
def test_settings(tmp_path: Path) -> Settings:
    """Development settings with a private SQLite store (never ./data/ of the working tree)."""
    return Settings(database_url=f"sqlite:///{(tmp_path / 'store.sqlite3').as_posix()}")


@pytest.fixture
def fixed_clock():
    """A clock for ``create_app(clock=...)`` that always reads FIXED_NOW."""
    return lambda: FIXED_NOW


@pytest.fixture(autouse=True)
def _fresh_fhir_circuit_breakers():
    """FHIR-server circuit breakers are process-wide (cds_service.security.circuit_breaker): one
    test's failing stub server must not open the circuit for the next test using the same URL."""
    FHIR_SERVER_BREAKERS.clear()
    yield
    FHIR_SERVER_BREAKERS.clear()
