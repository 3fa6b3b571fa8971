"""Audit rows from emitted cards: provenance extraction and failure isolation."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from cds_cards.builder import build_card
from cds_cards.provenance import PROVENANCE_KEY
from cds_service.observability.audit import (
    audit_entry_for_response,
    card_provenance,
    record_response_audit,
)
from cds_service.store import Store, hash_patient_id
from cds_service.store.schema import audit_card, audit_response


def _card(
    detail: str | None, label: str = "RRMM order checks · KB 2026.1", topic: str = "contraindication",
    rule_ids: list[str] | None = None, kb_version: str | None = "2026.1",
) -> dict:
    card = build_card(
        summary="Check the order", indicator="info", topic=topic, source_label=label, detail=detail
    )
    if rule_ids is not None:
        body: dict = {"ruleIds": rule_ids}
        if kb_version:
            body["kbVersion"] = kb_version
        card["extension"] = {PROVENANCE_KEY: body}
    return card


def test_provenance_from_the_extension() -> None:
    card = _card("Why: ...", rule_ids=["O7", "AGE-DEXAMETHASONE"], kb_version="2026.2")
    assert card_provenance(card) == (["O7", "AGE-DEXAMETHASONE"], "2026.2")


def test_the_detail_text_is_never_parsed() -> None:
    card = _card("Why: ...\n\nRule O7 · KB 2026.9 · sources: S2, S3")
    assert card_provenance(card) == ([], "2026.1")  # the version from source.label, no rule ids from text


def test_kb_version_from_label_when_the_extension_has_none() -> None:
    assert card_provenance(_card("No provenance here.", rule_ids=["R3"], kb_version=None)) == (["R3"], "2026.1")
    assert card_provenance(_card(None, label="RRMM guidance")) == ([], None)


def test_entry_hashes_the_patient_and_keeps_no_text() -> None:
    cards = [_card("Why.", rule_ids=["O1"]), _card("Why.", topic="dose-adjustment", rule_ids=["O2"])]
    entry = audit_entry_for_response(
        service_id="rrmm-order-sign",
        hook_instance="hi-1",
        patient_id="patient-123",
        salt="s3cret",
        cards=cards,
        duration_ms=4.2,
    )
    assert entry.patient_hash == hash_patient_id("patient-123", "s3cret")
    assert "patient-123" not in repr(entry)
    assert entry.kb_version == "2026.1"
    assert [(c.uuid, c.topic, c.rule_ids, c.indicator) for c in entry.cards] == [
        (cards[0]["uuid"], "contraindication", ["O1"], "info"),
        (cards[1]["uuid"], "dose-adjustment", ["O2"], "info"),
    ]


def test_record_response_audit_writes_rows(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    card = _card("Why.", rule_ids=["O3"])
    assert record_response_audit(
        store,
        service_id="rrmm-order-select",
        hook_instance="hi-2",
        patient_id="p",
        salt="x",
        cards=[card],
        duration_ms=1.0,
    )
    with store.engine.connect() as connection:
        response = connection.execute(select(audit_response)).one()
        row = connection.execute(select(audit_card)).one()
    assert (response.service_id, response.kb_version, response.card_count) == (
        "rrmm-order-select",
        "2026.1",
        1,
    )
    assert (row.card_uuid, orjson.loads(row.rule_ids)) == (card["uuid"], ["O3"])


def test_audit_failure_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = Store.from_url(f"sqlite:///{tmp_path / 'no-schema.sqlite3'}", migrate=False)
    ok = record_response_audit(
        broken,
        service_id="rrmm-order-select",
        hook_instance="hi-3",
        patient_id="patient-secret-id",
        salt="x",
        cards=[],
        duration_ms=1.0,
    )
    assert ok is False
    assert "audit write failed" in caplog.text
    assert "patient-secret-id" not in caplog.text
    assert record_response_audit(None, service_id="s") is False
