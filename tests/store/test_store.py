"""Behaviour of the feedback / audit / replay store on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cds_service.store import (
    AuditCard,
    AuditEntry,
    FeedbackError,
    Store,
    hash_patient_id,
    resolve_audit_salt,
)
from cds_service.store.schema import audit_card, audit_response, feedback, jwt_jti


def _accepted(card: str, timestamp: str = "2026-11-21T04:00:00Z", suggestion: str = "s1") -> dict:
    return {
        "card": card,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": timestamp,
    }


def _overridden(card: str, code: str = "patient-declined", comment: str | None = None) -> dict:
    reason: dict = {"reason": {"system": "https://example.org/reasons", "code": code, "display": code}}
    if comment:
        reason["userComment"] = comment
    return {
        "card": card,
        "outcome": "overridden",
        "overrideReason": reason,
        "outcomeTimestamp": "2026-11-21T04:00:00Z",
    }


def _count(store: Store, table) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_migrations_reach_head_and_ping(store: Store) -> None:
    assert store.current_revision() == Store.head_revision() is not None
    assert store.ping()


def test_upgrade_is_idempotent(store: Store) -> None:
    store.upgrade()
    assert store.current_revision() == Store.head_revision()


def test_sqlite_default_creates_directory_and_migrates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'data' / 'dev.sqlite3'}"
    opened = Store.from_url(url)  # development default: migrate SQLite on open
    try:
        assert (tmp_path / "nested" / "data" / "dev.sqlite3").exists()
        assert opened.ping()
    finally:
        opened.dispose()


def test_ping_is_false_without_schema(tmp_path: Path) -> None:
    unmigrated = Store.from_url(f"sqlite:///{tmp_path / 'empty.sqlite3'}", migrate=False)
    try:
        assert not unmigrated.ping()
    finally:
        unmigrated.dispose()


def test_record_feedback_stores_each_item_once(store: Store) -> None:
    items = [_accepted("card-1"), _overridden("card-2", comment="prefers oral")]
    assert store.record_feedback("rrmm-relapse-guidance", items) == 2
    assert store.record_feedback("rrmm-relapse-guidance", items) == 0
    assert store.record_feedback("rrmm-relapse-guidance", [items[0], items[0]]) == 0
    assert _count(store, feedback) == 2
    with store.engine.connect() as connection:
        row = connection.execute(select(feedback).where(feedback.c.card_uuid == "card-2")).one()
    assert row.outcome == "overridden"
    assert row.override_reason_code == "patient-declined"
    assert row.override_comment == "prefers oral"
    assert row.received_at.tzinfo is not None


def test_feedback_that_differs_in_any_identifying_part_is_new(store: Store) -> None:
    base = _accepted("card-1")
    variants = [
        base,
        _accepted("card-1", timestamp="2026-11-21T05:00:00Z"),
        _accepted("card-1", suggestion="s2"),
        _overridden("card-1"),
        _overridden("card-1", code="not-indicated"),
    ]
    assert store.record_feedback("svc-a", variants) == len(variants)
    assert store.record_feedback("svc-b", [base]) == 1  # same card under another service


def test_accepted_suggestion_order_does_not_matter(store: Store) -> None:
    first = {**_accepted("c"), "acceptedSuggestions": [{"id": "a"}, {"id": "b"}]}
    second = {**_accepted("c"), "acceptedSuggestions": [{"id": "b"}, {"id": "a"}]}
    assert store.record_feedback("svc", [first]) == 1
    assert store.record_feedback("svc", [second]) == 0
    with store.engine.connect() as connection:
        stored = connection.execute(select(feedback.c.accepted_suggestions)).scalar_one()
    assert orjson.loads(stored) == ["a", "b"]


@pytest.mark.parametrize("item", [{}, {"card": "x"}, {"outcome": "accepted"}, {"card": 3, "outcome": "x"}])
def test_malformed_feedback_is_rejected_and_nothing_is_written(store: Store, item: dict) -> None:
    with pytest.raises(FeedbackError):
        store.record_feedback("svc", [_accepted("good"), item])
    assert _count(store, feedback) == 0


def test_concurrent_duplicate_and_distinct_feedback(store: Store) -> None:
    """Hundreds of writers in parallel: every distinct item stored exactly once."""
    distinct = [_accepted(f"card-{n}") for n in range(150)]
    submissions = distinct + distinct  # each item arrives twice, from different threads

    with ThreadPoolExecutor(max_workers=16) as pool:
        stored = sum(pool.map(lambda item: store.record_feedback("svc", [item]), submissions))

    assert stored == 150
    assert _count(store, feedback) == 150


def test_record_audit_keeps_cards_joinable_by_uuid(store: Store) -> None:
    created = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
    entry = AuditEntry(
        service_id="rrmm-relapse-guidance",
        hook_instance="hook-1",
        patient_hash=hash_patient_id("patient-1", "salt"),
        kb_version="2026.1",
        cards=[
            AuditCard("u-1", "treatment-recommendation", ("R3", "H2"), "warning"),
            ("u-2", "supportive-care", ["S1"], "info"),
        ],
        duration_ms=12.5,
        created_at=created,
    )
    store.record_audit(entry)
    with store.engine.connect() as connection:
        response = connection.execute(select(audit_response)).one()
        cards = connection.execute(select(audit_card).order_by(audit_card.c.card_uuid)).all()
    assert response.card_count == 2
    assert response.kb_version == "2026.1"
    assert response.created_at == created
    assert response.patient_hash != "patient-1"
    assert [(c.card_uuid, c.topic, orjson.loads(c.rule_ids), c.indicator) for c in cards] == [
        ("u-1", "treatment-recommendation", ["R3", "H2"], "warning"),
        ("u-2", "supportive-care", ["S1"], "info"),
    ]


def test_record_audit_without_cards(store: Store) -> None:
    store.record_audit(AuditEntry("svc", "hook-2", None, None, [], 1.0))
    assert _count(store, audit_response) == 1
    assert _count(store, audit_card) == 0


def test_a_failed_audit_write_leaves_no_partial_row_and_the_store_keeps_working(store: Store) -> None:
    # A card row the database refuses (card_uuid is NOT NULL) fails the whole write: the response
    # row written before it in the same transaction is rolled back, the error is SQLAlchemy's
    # (so the HTTP layer classifies it), and the pooled connection serves the next write.
    broken = AuditEntry("svc", "hook-3", None, "2026.2", [AuditCard(None, "t", ("R1",), "info")], 1.0)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        store.record_audit(broken)
    assert _count(store, audit_response) == 0
    assert _count(store, audit_card) == 0
    store.record_audit(AuditEntry("svc", "hook-4", None, "2026.2", [AuditCard("u-9", "t", ("R1",), "info")], 1.0))
    assert _count(store, audit_response) == 1
    assert _count(store, audit_card) == 1


def test_audit_rows_from_many_threads_each_keep_their_own_cards(store: Store) -> None:
    def write(number: int) -> None:
        cards = [AuditCard(f"u-{number}-{k}", "t", (f"R{k}",), "info") for k in range(number % 3)]
        store.record_audit(AuditEntry("svc", f"hook-{number}", None, None, cards, 1.0))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(30)))
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(audit_response.c.hook_instance, audit_card.c.card_uuid)
            .join(audit_card, audit_card.c.response_id == audit_response.c.id)
        ).all()
        responses = connection.execute(select(func.count()).select_from(audit_response)).scalar_one()
    assert responses == 30
    assert len(rows) == sum(n % 3 for n in range(30))
    assert all(uuid.startswith(f"u-{hook.removeprefix('hook-')}-") for hook, uuid in rows)


def test_claim_jti_detects_replay(store: Store) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    assert store.claim_jti("https://ehr.example", "jti-1", expires)
    assert not store.claim_jti("https://ehr.example", "jti-1", expires)
    assert store.claim_jti("https://other.example", "jti-1", expires)


def test_claim_jti_allows_reuse_after_expiry_and_purges(store: Store) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert store.claim_jti("iss", "old", past)
    assert store.claim_jti("iss", "old", datetime.now(UTC) + timedelta(minutes=1))
    store._last_jti_purge = 0.0  # force the periodic sweep
    assert store.claim_jti("iss", "stale", past)
    store._last_jti_purge = 0.0
    store.claim_jti("iss", "fresh", datetime.now(UTC) + timedelta(minutes=1))
    with store.engine.connect() as connection:
        remaining = set(connection.execute(select(jwt_jti.c.jti)).scalars())
    assert remaining == {"old", "fresh"}


def test_concurrent_jti_claims_succeed_once(store: Store) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda _: store.claim_jti("iss", "same", expires), range(60)))
    assert results.count(True) == 1


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="timezone-aware"):
        store.claim_jti("iss", "naive", datetime(2030, 1, 1))


def test_patient_hash_is_keyed_and_stable() -> None:
    assert hash_patient_id("p1", "salt") == hash_patient_id("p1", "salt")
    assert hash_patient_id("p1", "salt") != hash_patient_id("p1", "pepper")
    assert hash_patient_id("p1", "salt") != hash_patient_id("p2", "salt")
    assert len(hash_patient_id("p1", b"salt")) == 64


def test_audit_salt_prefers_configuration() -> None:
    assert resolve_audit_salt("configured", "sqlite:///x") == "configured"
    derived = resolve_audit_salt(None, "sqlite:///x")
    assert derived == resolve_audit_salt("", "sqlite:///x")
    assert derived != resolve_audit_salt(None, "sqlite:///y")


def test_migrations_match_table_definitions(store: Store) -> None:
    """schema.py (used by queries) and the Alembic revisions (used to build databases) agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from cds_service.store.schema import metadata

    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_long_client_values_are_stored(store: Store) -> None:
    long_jti = "j" * 5000
    expires = datetime.now(UTC) + timedelta(minutes=5)
    assert store.claim_jti("iss", long_jti, expires)
    assert not store.claim_jti("iss", long_jti, expires)
    assert store.claim_jti("iss", long_jti[:-1] + "k", expires)
    item = {
        **_overridden("card-long", code="c" * 256),
        "outcomeTimestamp": "2026-11-21T04:00:00." + "0" * 100 + "Z",
    }
    item["overrideReason"]["userComment"] = "x" * 4096
    item["overrideReason"]["reason"]["system"] = "s" * 1024
    assert store.record_feedback("svc", [item]) == 1
    with pytest.raises(FeedbackError):
        store.record_feedback("svc", [{**item, "card": "u" * 201}])


def test_unreachable_server_fails_fast() -> None:
    import time

    # Nothing listens on port 1: the store answers "not reachable" promptly instead of hanging.
    store = Store.from_url("postgresql://nobody@127.0.0.1:1/none")
    started = time.monotonic()
    assert not store.ping()
    assert time.monotonic() - started < 10
    store.dispose()
