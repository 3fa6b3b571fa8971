"""Engine construction: one place that knows SQLite and PostgreSQL differ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

# Development default: a SQLite file under ./data/ (created on first use).
DEFAULT_DATABASE_URL = "sqlite:///./data/rrmm-cds.sqlite3"

# How long a SQLite writer waits for the file lock before giving up (seconds).
_SQLITE_BUSY_TIMEOUT_S = 30
# Server databases: seconds to open a connection, and to wait for a free pooled one.
_CONNECT_TIMEOUT_S = 3
_POOL_TIMEOUT_S = 5


def normalise_database_url(database_url: str) -> str:
    """Map the common ``postgres://`` / ``postgresql://`` spellings onto the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def create_store_engine(database_url: str) -> Engine:
    url = make_url(normalise_database_url(database_url))
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url.render_as_string(hide_password=False), url.database)
    # A database outage must cost a request seconds, not a worker timeout: bounded connect and
    # pool waits (the URL may still set its own connect_timeout).
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": _CONNECT_TIMEOUT_S}
    return create_engine(
        url,
        connect_args=connect_args,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=_POOL_TIMEOUT_S,
        pool_recycle=1800,
    )


def _create_sqlite_engine(url: str, database: str | None) -> Engine:
    in_memory = not database or database == ":memory:" or database.startswith("file::memory:")
    if not in_memory:
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    # An in-memory database exists per connection: share one connection (tests, one-off tools).
    pool_options: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    engine = create_engine(
        url,
        connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        **pool_options,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module so that "begin" below is the
        # only BEGIN issued; WAL lets readers run beside the single writer.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: no fsync per commit (the WAL is synced at checkpoints); a power cut may
            # drop the last commits but never corrupts the file. SQLite is the development store.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        # BEGIN IMMEDIATE takes the write lock up front, so concurrent writers queue on the
        # busy timeout instead of failing with "database is locked" on lock upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
