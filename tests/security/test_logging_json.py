"""The JSON log formatter: one object per line, whitelisted fields, credentials scrubbed."""

from __future__ import annotations

import io
import json
import logging

import pytest

from cds_service.logging_json import JsonFormatter, configure_logging, scrub

JWT = (
    "eyJhbGciOiJFUzM4NCIsImtpZCI6ImsxIn0."
    "eyJpc3MiOiJodHRwczovL2V4YW1wbGUiLCJqdGkiOiJhYmMifQ."
    "c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)


def _render(logger_name: str, msg: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord(logger_name, logging.INFO, __file__, 1, msg, args or None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(JsonFormatter().format(record))


def test_core_fields_and_whitelisted_extras_are_kept() -> None:
    line = _render("cds", "call done", request_id="r-1", service="rrmm-order-sign", status=200,
                   duration_ms=12.5, cards=2)
    assert line["level"] == "INFO"
    assert line["logger"] == "cds"
    assert line["message"] == "call done"
    assert line["request_id"] == "r-1"
    assert line["status"] == 200
    assert line["cards"] == 2
    assert "T" in str(line["ts"])


def test_unknown_and_non_scalar_extras_are_dropped() -> None:
    line = _render("cds", "x", patient_name="Jane Doe", service={"nested": "Jane"}, request_id="r")
    assert "patient_name" not in line
    assert "service" not in line
    assert "Jane" not in json.dumps(line)


def test_core_fields_cannot_be_overwritten_by_extras() -> None:
    record = logging.LogRecord("cds", logging.INFO, __file__, 1, "real", None, None)
    record.level = "FAKE"  # type: ignore[attr-defined]
    assert json.loads(JsonFormatter().format(record))["level"] == "INFO"


@pytest.mark.parametrize(
    "text",
    [
        f"token {JWT} seen",
        "Authorization: Bearer abc.def-secret",
        "header basic dXNlcjpwYXNz",
        'payload {"access_token": "s3cr3t-value"}',
        "url?access_token=s3cr3t-value&x=1",
    ],
)
def test_scrub_removes_credentials(text: str) -> None:
    cleaned = scrub(text)
    for secret in (JWT, "abc.def-secret", "dXNlcjpwYXNz", "s3cr3t-value"):
        assert secret not in cleaned
    assert "[REDACTED]" in cleaned


def test_message_arguments_are_scrubbed() -> None:
    line = _render("cds", "got %s", JWT)
    assert JWT not in json.dumps(line)
    assert "signature-bytes" not in json.dumps(line)


def test_exception_is_reduced_to_its_type() -> None:
    try:
        raise ValueError("patient MRN-123456 broke it")
    except ValueError:
        import sys

        record = logging.LogRecord("cds", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["error_type"] == "ValueError"
    assert "MRN-123456" not in json.dumps(line)


def test_long_strings_are_truncated() -> None:
    assert len(scrub("a" * 100_000)) < 2100


def test_configure_logging_is_idempotent_and_writes_json(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("INFO")
    configure_logging("INFO")
    logging.getLogger("cds.test").info("hello", extra={"request_id": "abc"})
    lines = [json.loads(x) for x in stream.getvalue().splitlines() if x.strip()]
    assert len(lines) == 1
    assert lines[0]["request_id"] == "abc"


def test_configure_logging_accepts_settings_objects() -> None:
    class Settings:
        log_level = "warning"

    configure_logging(Settings())
    assert logging.getLogger().level == logging.WARNING
    configure_logging(None)
    assert logging.getLogger().level == logging.INFO
