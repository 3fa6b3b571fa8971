"""Errors that end a request with a 4xx, rendered as a FHIR OperationOutcome (spec 01 §2)."""

from __future__ import annotations

from typing import Any

import orjson

# HTTP status -> the OperationOutcome issue type (FHIR issue-type value set): the one table, for
# refusals of the service's own and the HTTP layer's alike.
ISSUE_CODES: dict[int, str] = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    412: "incomplete",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
    503: "transient",
}


def issue_code(status: int) -> str:
    return ISSUE_CODES.get(status, "processing")
MAX_DIAGNOSTICS_CHARS = 500

# The one body of every 401 (client authentication, oversized headers at gunicorn or nginx).
UNAUTHORIZED_BODY = orjson.dumps(
    {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login", "diagnostics": "Unauthorized"}],
    }
)


class CdsHttpError(Exception):
    """A request the service refuses: a 4xx, or a 503 for an upstream failure (with Retry-After).

    ``retry_after`` (seconds), when set, is sent as the ``Retry-After`` header.
    """

    retry_after: int | None = None
    headers: dict[str, str] = {}  # noqa: RUF012 - read-only default; extra response headers (e.g. WWW-Authenticate)

    def __init__(self, status: int, diagnostics: str | list[str], *, code: str | None = None) -> None:
        messages = [diagnostics] if isinstance(diagnostics, str) else list(diagnostics)
        super().__init__(messages[0] if messages else str(status))
        self.status = status
        self.messages = messages or ["request refused"]
        self.code = code or issue_code(status)

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.messages, code=self.code)


# Seconds a client is asked to wait after a transient failure (database, replay store, audit trail).
RETRY_AFTER_S = 2


class StoreUnavailable(CdsHttpError):
    """The database (feedback, audit trail, replay cache) cannot be reached: 503, try again."""

    def __init__(self, diagnostics: str = "the service cannot answer right now; try again") -> None:
        super().__init__(503, diagnostics, code="transient")
        self.retry_after = RETRY_AFTER_S


class DataUnavailable(CdsHttpError):
    """Required patient data is missing and could not be fetched (412)."""

    def __init__(self, diagnostics: str) -> None:
        super().__init__(412, diagnostics, code="incomplete")


def operation_outcome(
    messages: str | list[str], *, code: str = "processing", severity: str = "error"
) -> dict[str, Any]:
    if isinstance(messages, str):
        messages = [messages]
    issues = [
        {"severity": severity, "code": code, "diagnostics": message[:MAX_DIAGNOSTICS_CHARS]}
        for message in messages
        if message and message.strip()
    ]
    if not issues:
        issues = [{"severity": severity, "code": code, "diagnostics": "request refused"}]
    return {"resourceType": "OperationOutcome", "issue": issues}
