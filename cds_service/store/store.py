"""The feedback + audit store (SQLAlchemy Core; SQLite in development, PostgreSQL in production).

Every write is a single INSERT ... ON CONFLICT DO NOTHING against a unique key, so concurrent
writers (threads, gunicorn workers, replicas) never race a check-then-insert and nothing is
stored twice or lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, SQLAlchemyError

from cds_service.store.audit_writer import AuditWriter
from cds_service.store.engine import create_store_engine
from cds_service.store.records import AuditCard, AuditEntry
from cds_service.store.report import FeedbackReport, build_feedback_report
from cds_service.store.schema import audit_card, audit_response, feedback, jwt_jti

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (and the Mako templates it imports) is loaded only to migrate or read a revision: a
# server whose database is migrated by a release job never needs it.

log = logging.getLogger(__name__)

# Expired jti rows are swept at most this often per process (a sweep is one indexed DELETE).
_JTI_PURGE_INTERVAL_S = 60.0
# Old free-text feedback comments are cleared at most this often per process.
_COMMENT_PURGE_INTERVAL_S = 3600.0
# Key columns are bounded; longer client-chosen values are stored by their digest instead.
_MAX_KEY_LENGTH = 200
_MAX_CARD_UUID_LENGTH = 200


_AUDIT_RESPONSE_COLUMNS = ("service_id", "hook_instance", "patient_hash", "kb_version", "card_count",
                           "duration_ms", "created_at")
_AUDIT_CARD_COLUMNS = ("response_id", "card_uuid", "topic", "rule_ids", "indicator")


class FeedbackError(ValueError):
    """A feedback item lacks what the store needs (the HTTP layer validates first)."""


class FeedbackItemsRefused(Exception):
    """Some feedback items were refused by the database; the others were stored (``stored``)."""

    def __init__(self, stored: int, refused: list[int]) -> None:
        super().__init__(f"{len(refused)} feedback items refused")
        self.stored = stored
        self.refused = refused


class Store:
    """Durable feedback, audit trail and JWT replay cache behind one SQLAlchemy engine."""

    def __init__(self, engine: Engine, *, comment_retention_days: int | None = None) -> None:
        self.engine = engine
        # Days a free-text userComment is kept (None: kept; 0: cleared at the next sweep).
        self.comment_retention_days = comment_retention_days
        self._last_jti_purge = 0.0
        self._last_comment_purge: float | None = None
        self._purge_lock = threading.Lock()
        self._audit_writer: AuditWriter | None = None  # compiled on first use

    @classmethod
    def from_url(
        cls, database_url: str, *, migrate: bool | None = None, comment_retention_days: int | None = None
    ) -> Store:
        """Open the store at ``database_url``.

        ``migrate=None`` applies pending migrations for SQLite (the zero-configuration
        development store under ./data/) and leaves other databases to ``rrmm-cds db upgrade``
        (run once per release, e.g. by the Kubernetes migration Job).
        """
        store = cls(create_store_engine(database_url), comment_retention_days=comment_retention_days)
        if migrate or (migrate is None and store.engine.dialect.name == "sqlite"):
            store.upgrade()
        return store

    # -- schema -------------------------------------------------------------------------------

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision`` (safe to run from several processes at once).

        PostgreSQL serialises concurrent upgrades with an advisory lock (the migration environment).
        A SQLite file is upgraded under an exclusive lock on a sibling ``.migrate.lock`` file, taken
        before the first connection: two gunicorn workers opening a fresh store would otherwise race
        on switching it to WAL and creating the version table ("database is locked").
        """
        from alembic import command

        with sqlite_migration_lock(self.engine), self.engine.begin() as connection:
            config = _alembic_config(connection)
            command.upgrade(config, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()

    def dispose(self) -> None:
        self.engine.dispose()

    # -- health -------------------------------------------------------------------------------

    def ping(self) -> bool:
        """True when the database answers and the schema is in place (for /readyz)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(select(feedback.c.id).limit(1))
            return True
        except SQLAlchemyError:
            log.warning("store ping failed", exc_info=True)
            return False

    # -- feedback -----------------------------------------------------------------------------

    def record_feedback(self, service_id: str, items: Sequence[Mapping[str, Any]]) -> int:
        """Store CDS Hooks feedback items; returns how many were new (duplicates are skipped).

        A duplicate is the same service, card, outcome, outcomeTimestamp, override reason and
        accepted suggestions. Each item is written in its own savepoint: an item the database
        refuses (:class:`FeedbackItemsRefused`, raised after the commit) does not cost the others.
        """
        rows = [_feedback_row(service_id, item) for item in items]
        if not rows:
            return 0
        received_at = datetime.now(UTC)
        stored = 0
        refused: list[int] = []
        with self.engine.begin() as connection:
            statement = _insert_ignoring_duplicates(connection, feedback, ["dedup_key"])
            for index, row in enumerate(rows):
                try:
                    with connection.begin_nested():
                        # RETURNING yields a row only when the insert happened (rowcount is not
                        # reliable across drivers for ON CONFLICT DO NOTHING).
                        inserted = connection.execute(
                            statement.values(**row, received_at=received_at).returning(feedback.c.id)
                        ).first()
                except DataError:
                    refused.append(index)
                    continue
                stored += inserted is not None
        self._purge_old_comments()
        if refused:
            raise FeedbackItemsRefused(stored, refused)
        return stored

    def issued_card_uuids(self, card_uuids: Sequence[str]) -> set[str]:
        """Which of ``card_uuids`` this service returned (its audit trail has them)."""
        wanted = sorted({uuid for uuid in card_uuids if isinstance(uuid, str)})
        found: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(
                    connection.execute(
                        select(audit_card.c.card_uuid).where(audit_card.c.card_uuid.in_(chunk))
                    ).scalars()
                )
        return found

    def _purge_old_comments(self) -> None:
        """Free-text override comments are kept ``comment_retention_days`` (then set to NULL)."""
        if self.comment_retention_days is None:
            return
        with self._purge_lock:
            last = self._last_comment_purge
            if last is not None and time.monotonic() - last < _COMMENT_PURGE_INTERVAL_S:
                return
            self._last_comment_purge = time.monotonic()
        cutoff = datetime.now(UTC) - timedelta(days=self.comment_retention_days)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    update(feedback)
                    .where(feedback.c.received_at < cutoff, feedback.c.override_comment.is_not(None))
                    .values(override_comment=None)
                )
        except SQLAlchemyError:
            log.warning("purging old feedback comments failed", exc_info=True)

    # -- audit --------------------------------------------------------------------------------

    def record_audit(self, entry: AuditEntry) -> None:
        """Append one response to the audit trail (the caller decides how to handle failures).

        One transaction, committed before the answer leaves (no row is lost to a crash after it),
        written through statements compiled once (``audit_writer``): this runs on every call.
        """
        writer = self._audit_writer
        if writer is None:
            writer = self._audit_writer = AuditWriter(
                self.engine, audit_response, audit_card, _AUDIT_RESPONSE_COLUMNS, _AUDIT_CARD_COLUMNS)
        writer.write(
            {
                "service_id": entry.service_id,
                "hook_instance": entry.hook_instance,
                "patient_hash": entry.patient_hash,
                "kb_version": entry.kb_version,
                "card_count": len(entry.cards),
                "duration_ms": float(entry.duration_ms),
                "created_at": entry.created_at or datetime.now(UTC),
            },
            [
                {
                    "card_uuid": card.uuid,
                    "topic": card.topic,
                    "rule_ids": orjson.dumps(list(card.rule_ids)).decode(),
                    "indicator": card.indicator,
                }
                for card in (AuditCard(*card) for card in entry.cards)
            ],
        )

    # -- analytics ----------------------------------------------------------------------------

    def feedback_report(self, since: datetime | None = None) -> FeedbackReport:
        """Cards shown / accepted / overridden per topic and rule (see ``store.report``)."""
        with self.engine.connect() as connection:
            return build_feedback_report(connection, since)

    # -- JWT replay cache ---------------------------------------------------------------------

    def claim_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """Remember a token id until it expires; False means it was already used (a replay)."""
        now = datetime.now(UTC)
        issuer, jti = _bounded_key(issuer), _bounded_key(jti)
        with self.engine.begin() as connection:
            # A row left over from an earlier, already expired token does not block this one.
            connection.execute(
                delete(jwt_jti).where(
                    jwt_jti.c.issuer == issuer, jwt_jti.c.jti == jti, jwt_jti.c.expires_at < now
                )
            )
            statement = _insert_ignoring_duplicates(connection, jwt_jti, ["issuer", "jti"])
            claimed = (
                connection.execute(
                    statement.values(issuer=issuer, jti=jti, expires_at=expires_at).returning(jwt_jti.c.jti)
                ).first()
                is not None
            )
        self._purge_expired_jtis(now)
        return claimed

    def _purge_expired_jtis(self, now: datetime) -> None:
        with self._purge_lock:
            if time.monotonic() - self._last_jti_purge < _JTI_PURGE_INTERVAL_S:
                return
            self._last_jti_purge = time.monotonic()
        try:
            with self.engine.begin() as connection:
                connection.execute(delete(jwt_jti).where(jwt_jti.c.expires_at < now))
        except SQLAlchemyError:
            # Purging is housekeeping: a failure here must not turn a valid call into an error.
            log.warning("purging expired jti rows failed", exc_info=True)


@contextlib.contextmanager
def sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive advisory file lock beside a SQLite database file (no-op otherwise)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    lock_path = Path(database).expanduser().resolve().with_suffix(".migrate.lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alembic_config(connection: Connection | None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("cds_service.store").joinpath("migrations"))
    )
    config.attributes["connection"] = connection
    return config


def _insert_ignoring_duplicates(connection: Connection, table: Any, key: list[str]) -> Any:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=key)
    raise NotImplementedError(f"unsupported database dialect {dialect!r} (use SQLite or PostgreSQL)")


def _feedback_row(service_id: str, item: Mapping[str, Any]) -> dict[str, Any]:
    card_uuid = item.get("card")
    outcome = item.get("outcome")
    if not isinstance(card_uuid, str) or not card_uuid:
        raise FeedbackError("feedback item needs a 'card' uuid")
    if len(card_uuid) > _MAX_CARD_UUID_LENGTH:
        raise FeedbackError("feedback 'card' is not a card uuid")
    if not isinstance(outcome, str) or not outcome:
        raise FeedbackError("feedback item needs an 'outcome'")
    outcome_timestamp = item.get("outcomeTimestamp")
    override = item.get("overrideReason")
    override = override if isinstance(override, Mapping) else {}
    reason = override.get("reason")
    reason = reason if isinstance(reason, Mapping) else {}
    comment = override.get("userComment")
    accepted = sorted(
        str(suggestion.get("id"))
        for suggestion in item.get("acceptedSuggestions") or []
        if isinstance(suggestion, Mapping) and suggestion.get("id") is not None
    )
    row = {
        "service_id": service_id,
        "card_uuid": card_uuid,
        "outcome": outcome,
        "outcome_timestamp": str(outcome_timestamp) if outcome_timestamp is not None else None,
        "override_reason_system": _optional_text(reason.get("system")),
        "override_reason_code": _optional_text(reason.get("code")),
        "override_reason_display": _optional_text(reason.get("display")),
        "override_comment": _optional_text(comment),
        "accepted_suggestions": orjson.dumps(accepted).decode() if accepted else None,
    }
    row["dedup_key"] = hashlib.sha256(orjson.dumps(row, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return row


def _bounded_key(value: str) -> str:
    if len(value) <= _MAX_KEY_LENGTH:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)
