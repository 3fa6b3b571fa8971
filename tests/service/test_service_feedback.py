"""Feedback endpoint (spec 01 §2): validated, persisted idempotently, 400 malformed, 404 unknown."""

from __future__ import annotations

import json
import uuid

import pytest
from helpers import assert_operation_outcome
from sqlalchemy import func, select

from cds_service.store import AuditCard, AuditEntry
from cds_service.store.schema import feedback as feedback_table

URL = "/cds-services/rrmm-relapse-guidance/feedback"


def item(outcome: str = "accepted", **extra) -> dict:
    body = {"card": str(uuid.uuid4()), "outcome": outcome, "outcomeTimestamp": "2026-03-15T14:31:00Z"}
    if outcome == "accepted":
        body["acceptedSuggestions"] = [{"id": str(uuid.uuid4())}]
    body.update(extra)
    return body


def post(client, body, url: str = URL, content_type: str = "application/json", *, issued: bool = True):
    """POST feedback; with ``issued`` its cards are first recorded as returned by the service."""
    items = body.get("feedback") if isinstance(body, dict) else None
    if issued and isinstance(items, list):
        cards = [i["card"] for i in items if isinstance(i, dict) and isinstance(i.get("card"), str)]
        client.application.extensions["rrmm_cds"].store.record_audit(
            AuditEntry(service_id="rrmm-relapse-guidance", hook_instance=str(uuid.uuid4()), patient_hash=None,
                       kb_version=None, cards=[AuditCard(card, None, [], None) for card in cards], duration_ms=0.0)
        )
    return client.post(url, data=json.dumps(body), content_type=content_type)


def stored_rows(app) -> int:
    store = app.extensions["rrmm_cds"].store
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(feedback_table)).scalar_one()


def test_accepted_is_stored(app, client):
    response = post(client, {"feedback": [item()]})
    assert response.status_code == 200
    assert stored_rows(app) == 1


def test_overridden_with_and_without_reason(app, client):
    reason = {
        "reason": {
            "code": "clinician-judgement",
            "system": "https://fhir.rrmm-cds.org/CodeSystem/override-reason",
        },
        "userComment": "discussed at tumour board",
    }
    assert post(client, {"feedback": [item("overridden", overrideReason=reason)]}).status_code == 200
    assert post(client, {"feedback": [item("overridden")]}).status_code == 200
    assert stored_rows(app) == 2


def test_duplicates_are_idempotent(app, client):
    body = {"feedback": [item()]}
    assert post(client, body).status_code == 200
    assert post(client, body).status_code == 200
    assert stored_rows(app) == 1


def test_batch(app, client):
    assert post(client, {"feedback": [item(), item("overridden"), item()]}).status_code == 200
    assert stored_rows(app) == 3


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (
            {"feedback": [{k: v for k, v in item().items() if k != "acceptedSuggestions"}]},
            "acceptedSuggestions",
        ),
        ({"feedback": [item(outcome="maybe")]}, "outcome"),
        ({"feedback": [{k: v for k, v in item().items() if k != "outcomeTimestamp"}]}, "outcomeTimestamp"),
        ({"feedback": [item(outcomeTimestamp="yesterday")]}, "outcomeTimestamp"),
        ({"feedback": [item(card="not-a-uuid")]}, "card"),
        ({"feedback": item()}, "feedback"),
        ({"feedback": []}, "feedback"),
        ({}, "feedback"),
        ([item()], None),
    ],
    ids=[
        "accepted-without-suggestions",
        "invalid-outcome",
        "missing-timestamp",
        "bad-timestamp",
        "bad-card-uuid",
        "not-a-list",
        "empty-list",
        "no-feedback",
        "top-level-array",
    ],
)
def test_malformed_feedback_400(app, client, body, mentions):
    response = post(client, body)
    assert response.status_code == 400
    assert_operation_outcome(response.get_json(), mentions=mentions)
    assert stored_rows(app) == 0


def test_invalid_json_400(client):
    response = client.post(URL, data=b"{", content_type="application/json")
    assert response.status_code == 400
    assert_operation_outcome(response.get_json())


def test_wrong_content_type_415(client):
    assert post(client, {"feedback": [item()]}, content_type="text/plain").status_code == 415


def test_unknown_service_404(client):
    response = post(client, {"feedback": [item()]}, url="/cds-services/nope/feedback")
    assert response.status_code == 404
    assert_operation_outcome(response.get_json())


def test_feedback_for_a_card_never_returned_is_acknowledged_not_stored(app, client):
    assert post(client, {"feedback": [item()]}, issued=False).status_code == 200
    assert stored_rows(app) == 0
