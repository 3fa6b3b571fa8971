"""Fixtures of the resilience suite: the PostgreSQL schema fixture of tests/store, apps on it."""

from __future__ import annotations

from store.conftest import postgres_database_url  # noqa: F401 - a fixture, re-exported
