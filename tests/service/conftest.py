"""Fixtures for the HTTP service tests: an app on a private store, handler fakes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cds_service import handlers
from cds_service.app import create_app
from cds_service.fhir_version import CAPABILITIES
from cds_service.security.circuit_breaker import FHIR_SERVER_BREAKERS


@pytest.fixture
def app(test_settings, fixed_clock):
    return create_app(test_settings, clock=fixed_clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def captured_contexts(monkeypatch) -> list[handlers.HookContext]:
    """Replace both clinical handlers with recorders returning no cards."""
    seen: list[handlers.HookContext] = []

    def record(ctx: handlers.HookContext) -> list[dict]:
        seen.append(ctx)
        return []

    monkeypatch.setattr(handlers, "patient_view_cards", record)
    monkeypatch.setattr(handlers, "order_cards", record)
    return seen


@pytest.fixture
def set_cards(monkeypatch) -> Callable[[Callable[[handlers.HookContext], list[dict]]], None]:
    """Install a fake handler (for both hooks) for one test."""

    def install(fake: Callable[[handlers.HookContext], list[dict]]) -> None:
        monkeypatch.setattr(handlers, "patient_view_cards", fake)
        monkeypatch.setattr(handlers, "order_cards", fake)

    return install


@pytest.fixture(autouse=True)
def closed_circuit_breakers():
    """The per-server circuit breakers are process-wide: no test inherits another's failures."""
    FHIR_SERVER_BREAKERS.clear()
    yield
    FHIR_SERVER_BREAKERS.clear()


@pytest.fixture(autouse=True)
def known_r4_server():
    """The service reads [base]/metadata once per server and caches the version it declares: the
    tests start as if that had happened for FHIR_BASE (the metadata read has tests of its own)."""
    from service_requests import FHIR_BASE

    CAPABILITIES.clear()
    CAPABILITIES.put(FHIR_BASE, "4.0.1")
    yield
    CAPABILITIES.clear()
