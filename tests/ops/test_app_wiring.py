"""The observability and audit wiring inside the real app (create_app)."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from cds_cards.builder import build_card
from cds_cards.provenance import PROVENANCE_KEY
from cds_service import handlers
from cds_service.app import app_state, create_app
from cds_service.config import Settings
from cds_service.services import PREFETCH
from cds_service.store import hash_patient_id, resolve_audit_salt
from cds_service.store.schema import audit_card, audit_response

SERVICE = "rrmm-relapse-guidance"


def _request(patient_id: str) -> dict:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/p1", "patientId": patient_id},
        "prefetch": {
            **{key: {"resourceType": "Bundle", "type": "searchset", "entry": []} for key in PREFETCH},
            "patient": {"resourceType": "Patient", "id": patient_id, "gender": "female"},
        },
    }


def _two_cards(_ctx: handlers.HookContext) -> list[dict]:
    label = "RRMM relapse guidance · KB 2026.1"
    workup = build_card(summary="Relapse work-up", indicator="info", topic="relapse-workup", source_label=label,
                        detail="Why.")
    supportive = build_card(summary="Supportive care", indicator="info", topic="supportive-care", source_label=label,
                            detail="Why.")
    workup["extension"] = {PROVENANCE_KEY: {"ruleIds": ["WORKUP"], "kbVersion": "2026.1"}}
    supportive["extension"] = {PROVENANCE_KEY: {"ruleIds": ["SC-VTE"], "kbVersion": "2026.1"}}
    return [workup, supportive]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'wiring.sqlite3'}", audit_salt="test-salt")


@pytest.fixture
def client(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(handlers, "patient_view_cards", _two_cards)
    return create_app(settings).test_client()


def _metric(client, name: str, **labels: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_health_and_readiness(client) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"knowledge_base": True, "store": True}


def test_readiness_fails_when_the_store_is_gone(client) -> None:
    store = app_state(client.application).store
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE feedback")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["store"] is False


def test_hook_call_is_audited_and_counted(client, settings: Settings) -> None:
    before_cards = _metric(client, "rrmm_cds_cards_total", service=SERVICE, topic="supportive-care")
    before_calls = _metric(
        client,
        "rrmm_cds_http_request_duration_seconds_count",
        service=SERVICE,
        endpoint="/cds-services/<service_id>",
    )
    response = client.post(
        f"/cds-services/{SERVICE}", data=orjson.dumps(_request("pt-42")), content_type="application/json"
    )
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert len(cards) == 2

    store = app_state(client.application).store
    with store.engine.connect() as connection:
        row = connection.execute(select(audit_response)).one()
        audited = connection.execute(
            select(audit_card.c.card_uuid, audit_card.c.topic, audit_card.c.rule_ids)
        ).all()
    salt = resolve_audit_salt(settings.audit_salt, settings.database_url)
    assert row.patient_hash == hash_patient_id("pt-42", salt)
    assert row.kb_version == "2026.1"
    assert row.service_id == SERVICE
    assert {(u, t, tuple(orjson.loads(r))) for u, t, r in audited} == {
        (cards[0]["uuid"], "relapse-workup", ("WORKUP",)),
        (cards[1]["uuid"], "supportive-care", ("SC-VTE",)),
    }
    assert (
        _metric(client, "rrmm_cds_cards_total", service=SERVICE, topic="supportive-care") == before_cards + 1
    )
    assert (
        _metric(
            client,
            "rrmm_cds_http_request_duration_seconds_count",
            service=SERVICE,
            endpoint="/cds-services/<service_id>",
        )
        == before_calls + 1
    )


def test_a_call_without_its_audit_row_fails_with_503(client) -> None:
    store = app_state(client.application).store
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE audit_card")
    response = client.post(
        f"/cds-services/{SERVICE}", data=orjson.dumps(_request("pt-7")), content_type="application/json"
    )
    # No answer leaves the service without its audit row: the EHR is told to try again.
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["issue"][0]["code"] == "transient"
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(audit_response)).scalar_one() == 0


def test_silent_response_is_audited_with_the_loaded_kb_version(
    client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers, "patient_view_cards", lambda _ctx: [])
    response = client.post(
        f"/cds-services/{SERVICE}", data=orjson.dumps(_request("pt-9")), content_type="application/json"
    )
    assert response.get_json() == {"cards": []}
    state = app_state(client.application)
    with state.store.engine.connect() as connection:
        row = connection.execute(select(audit_response)).one()
    assert row.card_count == 0
    assert row.kb_version == state.pipeline.kb.version
