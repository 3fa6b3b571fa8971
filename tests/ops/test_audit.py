"""Audit rows from emitted cards: provenance extraction and failure isolation."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from cds_cards.builder import build_card
from cds_service.observability.audit import (
    audit_entry_for_response,
    card_provenance,
    record_response_audit,
)
from cds_service.store import Store, hash_patient_id
from cds_service.store.schema import audit_card, audit_response


def _card(
    detail: str | None, label: str = "RRMM order checks · KB 2026.1", topic: str = "contraindication"
) -> dict:
    return build_card(
        summary="Check the order", indicator="info", topic=topic, source_label=label, detail=detail
    )


def test_provenance_from_the_detail_line() -> None:
    card = _card("Why: ...\n\nRule O7 (S3) · KB 2026.1 · sources: S2, S3")
    assert card_provenance(card) == (["O7 (S3)"], "2026.1")


def test_several_rules_and_lines() -> None:
    card = _card("Rules R3, H2 · KB 2026.2\n\nRule DOSE-LENALIDOMIDE · KB 2026.2 · sources: S1")
    assert card_provenance(card) == (["R3", "H2", "DOSE-LENALIDOMIDE"], "2026.2")


def test_kb_version_from_label_when_detail_is_silent() -> None:
    assert card_provenance(_card("No provenance here.")) == ([], "2026.1")
    assert card_provenance(_card(None, label="RRMM guidance")) == ([], None)


def test_machine_readable_extension_wins() -> None:
    card = {**_card("Rule X1 · KB 1"), "extension": {"rrmm-cds": {"ruleIds": ["R4"], "kbVersion": "2026.3"}}}
    assert card_provenance(card) == (["R4"], "2026.3")
    card = {**_card(None), "extension": {"ruleId": "H1", "kbVersion": "2026.3"}}
    assert card_provenance(card) == (["H1"], "2026.3")


def test_entry_hashes_the_patient_and_keeps_no_text() -> None:
    cards = [_card("Rule O1 · KB 2026.1"), _card("Rule O2 · KB 2026.1", topic="dose-adjustment")]
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
    card = _card("Rule O3 · KB 2026.1")
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
