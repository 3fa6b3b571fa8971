"""Storage integrity on PostgreSQL: characters it refuses, partial batches, the audit row of every
answered call, and the right status when the database is down.

Before: a NUL in any stored string broke the write (feedback 503, a 500-item batch with one bad
item stored none of the 499 good ones), a NUL in hookInstance returned 200 with no audit row, and
the database down answered 401 to everyone.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest
from flask import Flask
from sqlalchemy import func, select, text

from cds_service import samples
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.services import discovery_document
from cds_service.store import AuditEntry, Store
from cds_service.store.schema import audit_response, feedback

pytestmark = pytest.mark.postgres

SERVICE = discovery_document()["services"][0]
CALL = f"/cds-services/{SERVICE['id']}"


def hook_request(**changes: object) -> dict:
    request = samples.hook_request(
        samples.personas()[0], SERVICE["hook"], samples.utc_today(), prefetch_templates=SERVICE["prefetch"]
    )
    request.update(changes)
    return request


@pytest.fixture
def app(postgres_database_url: str) -> Flask:
    Store.from_url(postgres_database_url, migrate=True).dispose()
    return create_app(Settings(database_url=postgres_database_url, audit_salt="s" * 32))


def _count(app: Flask, table: object) -> int:
    with app.extensions["rrmm_cds"].store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _issue(app: Flask, card_uuids: list[str]) -> None:
    """Audit rows for cards, as if the service had returned them."""
    from cds_service.store import AuditCard

    app.extensions["rrmm_cds"].store.record_audit(
        AuditEntry(service_id=SERVICE["id"], hook_instance=str(uuid.uuid4()), patient_hash=None, kb_version="t",
                   cards=[AuditCard(card, "t", [], "info") for card in card_uuids], duration_ms=1.0)
    )


def _item(card: str, comment: str = "ok") -> dict:
    return {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-03-15T14:31:00Z",
            "overrideReason": {"userComment": comment}}


def test_nul_in_hook_instance_is_refused_before_anything_is_stored(app: Flask) -> None:
    response = app.test_client().post(CALL, json=hook_request(hookInstance="a\u0000b"))
    assert response.status_code == 400
    diagnostics = " ".join(issue["diagnostics"] for issue in response.get_json()["issue"])
    assert "hookInstance" in diagnostics and "U+0000" in diagnostics
    assert _count(app, audit_response) == 0


def test_every_answered_call_has_its_audit_row(app: Flask) -> None:
    client = app.test_client()
    for _ in range(3):
        assert client.post(CALL, json=hook_request(hookInstance=str(uuid.uuid4()))).status_code == 200
    assert _count(app, audit_response) == 3


def test_a_call_whose_audit_row_cannot_be_written_fails(app: Flask) -> None:
    store = app.extensions["rrmm_cds"].store
    with store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_response RENAME TO audit_response_gone"))
    response = app.test_client().post(CALL, json=hook_request())
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["issue"][0]["code"] == "transient"


def test_nul_in_one_feedback_item_names_it_and_stores_nothing_silently(app: Flask) -> None:
    cards = [str(uuid.uuid4()) for _ in range(500)]
    _issue(app, cards)
    items = [_item(card) for card in cards]
    items[3] = _item(cards[3], "bad\u0000comment")
    client = app.test_client()
    response = client.post(f"{CALL}/feedback", json={"feedback": items})
    assert response.status_code == 400
    assert "feedback[3].overrideReason.userComment" in response.get_json()["issue"][0]["diagnostics"]
    items[3] = _item(cards[3])
    assert client.post(f"{CALL}/feedback", json={"feedback": items}).status_code == 200
    assert _count(app, feedback) == 500


def test_the_store_keeps_the_good_items_of_a_batch_the_database_partly_refuses(postgres_database_url: str) -> None:
    store = Store.from_url(postgres_database_url, migrate=True)
    from cds_service.store import FeedbackItemsRefused

    items = [_item(str(uuid.uuid4())) for _ in range(500)]
    items[7] = _item(items[7]["card"], "bad\u0000comment")  # bypassing the HTTP checks
    with pytest.raises(FeedbackItemsRefused) as refused:
        store.record_feedback("svc", items)
    assert refused.value.refused == [7] and refused.value.stored == 499
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(feedback)).scalar_one() == 499
    store.dispose()


def test_feedback_for_cards_never_issued_is_acknowledged_but_not_stored(app: Flask) -> None:
    issued = str(uuid.uuid4())
    _issue(app, [issued])
    client = app.test_client()
    body = {"feedback": [_item(issued), _item(str(uuid.uuid4()))]}
    assert client.post(f"{CALL}/feedback", json=body).status_code == 200
    assert _count(app, feedback) == 1


def test_feedback_for_unknown_cards_can_be_refused(postgres_database_url: str) -> None:
    Store.from_url(postgres_database_url, migrate=True).dispose()
    app = create_app(Settings(database_url=postgres_database_url, feedback_unknown_cards="refuse"))
    response = app.test_client().post(f"{CALL}/feedback", json={"feedback": [_item(str(uuid.uuid4()))]})
    assert response.status_code == 400
    assert "feedback[0].card" in response.get_json()["issue"][0]["diagnostics"]


def test_comments_are_not_stored_when_retention_is_zero(postgres_database_url: str) -> None:
    Store.from_url(postgres_database_url, migrate=True).dispose()
    app = create_app(Settings(database_url=postgres_database_url, feedback_comment_days=0))
    card = str(uuid.uuid4())
    _issue(app, [card])
    assert app.test_client().post(f"{CALL}/feedback", json={"feedback": [_item(card, "free text")]}).status_code == 200
    with app.extensions["rrmm_cds"].store.engine.connect() as connection:
        assert connection.execute(select(feedback.c.override_comment)).scalar_one() is None


def test_old_comments_are_cleared_after_the_retention_period(postgres_database_url: str) -> None:
    store = Store.from_url(postgres_database_url, migrate=True, comment_retention_days=30)
    store.record_feedback("svc", [_item(str(uuid.uuid4()), "kept a while")])
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE feedback SET received_at = received_at - interval '31 days'"))
    store._last_comment_purge = None  # the next write sweeps again
    store.record_feedback("svc", [_item(str(uuid.uuid4()), "fresh")])
    with store.engine.connect() as connection:
        comments = sorted(str(c) for c in connection.execute(select(feedback.c.override_comment)).scalars())
    assert comments == ["None", "fresh"]
    store.dispose()


def test_store_down_is_503_with_retry_after(tmp_path: Path) -> None:
    # A PostgreSQL URL nothing listens on: the database is "down" from the first request.
    app = create_app(Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=1"))
    client = app.test_client()
    for path, body in ((CALL, hook_request()), (f"{CALL}/feedback", {"feedback": [_item(str(uuid.uuid4()))]})):
        response = client.post(path, data=orjson.dumps(body), content_type="application/json")
        assert response.status_code == 503, (path, response.status_code)
        assert response.headers["Retry-After"]
        assert response.get_json()["issue"][0]["code"] == "transient"
