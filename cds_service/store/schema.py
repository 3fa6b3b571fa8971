"""Table definitions of the feedback + audit store.

The migrations in ``migrations/versions`` are the source of truth for the database schema; this
module mirrors them for the query layer and is checked against them by a test (the
``alembic check`` equivalent in ``tests/store``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants as naive UTC, returns aware UTC (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps written to the store must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData()

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # sha256 over the canonical form of (service, card, outcome, timestamp, reason, suggestions):
    # one unique column makes duplicates collide even when optional parts are absent (NULLs
    # never collide in a multi-column unique constraint).
    Column("dedup_key", String(64), nullable=False),
    Column("service_id", String(200), nullable=False),
    Column("card_uuid", String(200), nullable=False, index=True),
    Column("outcome", String(20), nullable=False),
    Column("outcome_timestamp", Text, nullable=True),
    Column("override_reason_system", Text, nullable=True),
    Column("override_reason_code", Text, nullable=True),
    Column("override_reason_display", Text, nullable=True),
    Column("override_comment", Text, nullable=True),
    Column("accepted_suggestions", Text, nullable=True),  # JSON array of suggestion uuids
    Column("received_at", UTCDateTime, nullable=False, index=True),
    UniqueConstraint("dedup_key", name="uq_feedback_dedup_key"),
)

audit_response = Table(
    "audit_response",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(200), nullable=False),
    Column("hook_instance", Text, nullable=False),
    Column("patient_hash", String(64), nullable=True),
    Column("kb_version", String(100), nullable=True),
    Column("card_count", Integer, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

audit_card = Table(
    "audit_card",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "response_id",
        Integer,
        ForeignKey("audit_response.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("card_uuid", String(200), nullable=False, index=True),
    Column("topic", String(100), nullable=True),
    Column("rule_ids", Text, nullable=True),  # JSON array of rule ids ("R3", "O7", ...)
    Column("indicator", String(20), nullable=True),
)

jwt_jti = Table(
    "jwt_jti",
    metadata,
    Column("issuer", String(500), primary_key=True),
    Column("jti", String(256), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_jwt_jti_expires_at", "expires_at"),
)
