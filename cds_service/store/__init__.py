"""Feedback + audit store: SQLAlchemy 2 Core, Alembic migrations, SQLite or PostgreSQL."""

from cds_service.store.engine import DEFAULT_DATABASE_URL, normalise_database_url
from cds_service.store.records import AuditCard, AuditEntry, hash_patient_id, resolve_audit_salt
from cds_service.store.store import FeedbackError, FeedbackItemsRefused, Store

__all__ = [
    "DEFAULT_DATABASE_URL",
    "AuditCard",
    "AuditEntry",
    "FeedbackError",
    "FeedbackItemsRefused",
    "Store",
    "hash_patient_id",
    "normalise_database_url",
    "resolve_audit_salt",
]
