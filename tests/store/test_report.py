"""Feedback analytics: per topic and per rule, joined from feedback to audit by card uuid."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from cds_service.commands import db as db_command
from cds_service.commands import report as report_command
from cds_service.store import AuditCard, AuditEntry, Store

OLD = datetime(2026, 1, 1, tzinfo=UTC)


def _cli(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rrmm-cds")
    subparsers = parser.add_subparsers(dest="command", required=True)
    db_command.register(subparsers)
    report_command.register(subparsers)
    return parser.parse_args(argv)


def _audit(store: Store, cards: list[AuditCard], created_at: datetime | None = None) -> None:
    store.record_audit(AuditEntry("rrmm-relapse-guidance", "h", "hash", "2026.1", cards, 5.0, created_at))


def _override(card: str, code: str | None, display: str | None = None) -> dict:
    item: dict = {
        "card": card,
        "outcome": "overridden",
        "outcomeTimestamp": f"2026-11-21T04:{len(card):02d}:00Z",
    }
    if code:
        item["overrideReason"] = {"reason": {"system": "urn:x", "code": code, "display": display or code}}
    return item


@pytest.fixture
def populated(store: Store) -> Store:
    _audit(
        store,
        [
            AuditCard("t1", "treatment-recommendation", ["R3", "H2"], "info"),
            AuditCard("s1", "supportive-care", ["S1"], "info"),
        ],
    )
    _audit(store, [AuditCard("t2", "treatment-recommendation", ["R3"], "info")])
    _audit(store, [AuditCard("old", "data-gap", ["G1"], "info")], created_at=OLD)
    store.record_feedback(
        "rrmm-relapse-guidance",
        [
            {
                "card": "t1",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "x"}],
                "outcomeTimestamp": "a",
            },
            _override("t2", "patient-preference", "Patient preference"),
            _override("s1", "patient-preference", "Patient preference"),
            _override("s1", None),  # distinct: no reason given
            _override("never-audited", "other"),
        ],
    )
    return store


def test_report_counts_per_topic_and_rule(populated: Store) -> None:
    report = populated.feedback_report().as_dict()
    assert report["cards_total"] == 4
    assert report["feedback_total"] == 5
    treatment = report["topics"]["treatment-recommendation"]
    assert (treatment["shown"], treatment["accepted"], treatment["overridden"]) == (2, 1, 1)
    assert treatment["override_reasons"] == [
        {"code": "patient-preference", "display": "Patient preference", "count": 1}
    ]
    supportive = report["topics"]["supportive-care"]
    assert (supportive["shown"], supportive["overridden"]) == (1, 2)
    assert {r["code"]: r["count"] for r in supportive["override_reasons"]} == {
        "patient-preference": 1,
        "unspecified": 1,
    }
    # a card with two rule ids counts under both
    assert report["rules"]["R3"]["shown"] == 2
    assert report["rules"]["H2"] == {**report["rules"]["H2"], "shown": 1, "accepted": 1}
    assert report["topics"]["unknown"]["overridden"] == 1  # feedback for a card not in the audit
    assert report["topics"]["data-gap"]["shown"] == 1


def test_report_since_filters_old_cards(populated: Store) -> None:
    report = populated.feedback_report(OLD + timedelta(days=1)).as_dict()
    assert report["cards_total"] == 3
    assert "data-gap" not in report["topics"]


def test_repeated_card_uuid_does_not_multiply_feedback(store: Store) -> None:
    _audit(store, [AuditCard("same", "referral", ["F1"], "info")])
    _audit(store, [AuditCard("same", "referral", ["F1"], "info")])
    store.record_feedback("svc", [{"card": "same", "outcome": "accepted", "outcomeTimestamp": "t"}])
    report = store.feedback_report().as_dict()
    assert report["feedback_total"] == 1
    assert report["topics"]["referral"]["accepted"] == 1


def test_report_command_json(populated: Store, capsys: pytest.CaptureFixture[str]) -> None:
    url = populated.engine.url.render_as_string(hide_password=False)
    args = _cli("report", "--json", "--database-url", url)
    assert args.func(args) == 0
    output = orjson.loads(capsys.readouterr().out)
    assert type(output["cards_total"]) is int and output["cards_total"] == 4
    assert type(output["feedback_total"]) is int and output["feedback_total"] == 5


def test_report_command_text(populated: Store, capsys: pytest.CaptureFixture[str]) -> None:
    url = populated.engine.url.render_as_string(hide_password=False)
    args = _cli("report", "--since", "2026-06-01", "--database-url", url)
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "cards shown: 3" in text
    assert "treatment-recommendation" in text
    assert "Patient preference (patient-preference): 1" in text


def test_report_rejects_a_bad_date() -> None:
    with pytest.raises(SystemExit):
        _cli("report", "--since", "last tuesday")


def test_db_upgrade_and_current_commands(
    sqlite_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The commands never create a missing directory (tests/service/test_cli_misuse.py): make it.
    Path(sqlite_database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    current = _cli("db", "current", "--database-url", sqlite_database_url)
    assert current.func(current) == 1  # nothing applied yet
    upgrade = _cli("db", "upgrade", "--database-url", sqlite_database_url)
    assert upgrade.func(upgrade) == 0
    assert current.func(current) == 0
    assert f"revision {Store.head_revision()}" in capsys.readouterr().out


def test_report_on_an_empty_database_says_to_migrate(
    sqlite_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _cli("report", "--json", "--database-url", sqlite_database_url)
    assert args.func(args) == 2
    assert "rrmm-cds db upgrade" in capsys.readouterr().err


def test_db_errors_never_print_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://user:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=1"
    for argv in (("db", "current"), ("db", "upgrade"), ("report",)):
        args = _cli(*argv, "--database-url", url)
        assert args.func(args) == 2
        captured = capsys.readouterr()
        assert "s3cret-pw" not in captured.err + captured.out
        assert "127.0.0.1:1" in captured.err and "connection refused" in captured.err
