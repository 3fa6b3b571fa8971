"""Store fixtures: every store test runs on SQLite and, when reachable, on the real PostgreSQL.

PostgreSQL runs use a fresh schema per test (``search_path`` set on the connection URL), so
parallel test runs and other engineers' data never meet. Set RRMM_CDS_TEST_POSTGRES_URL to point
elsewhere; when the server is unreachable the PostgreSQL variants skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from cds_service.store import Store

POSTGRES_URL = os.environ.get(
    "RRMM_CDS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_unavailable_reason() -> str | None:
    try:
        with psycopg.connect(_libpq_url(POSTGRES_URL), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {error.__class__.__name__}"


def _libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


_POSTGRES_SKIP = _postgres_unavailable_reason()


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """A DATABASE_URL for an empty, private PostgreSQL schema (dropped afterwards)."""
    if _POSTGRES_SKIP:
        pytest.skip(_POSTGRES_SKIP)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'store.sqlite3'}"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_database_url" if request.param == "sqlite" else "postgres_database_url"
    return request.getfixturevalue(fixture)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store.from_url(database_url, migrate=True)
    yield opened
    opened.dispose()
