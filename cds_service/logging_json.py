"""Structured JSON logging with a redaction safety net.

One JSON object per line on stderr: ``ts``, ``level``, ``logger``, ``message`` plus a whitelist of
operational fields passed through ``extra=`` (request id, service, status, timings, outcome...).

Patient data and credentials must never reach the log (spec 01 §3).  Callers are expected not to
put them there; this module is the second line of defence:

* any ``extra`` field that is not on :data:`ALLOWED_FIELDS` is dropped, so a stray
  ``extra={"patient": ...}`` cannot leak;
* field values must be scalars (str/int/float/bool/None); anything else is dropped;
* every string that is written (message and string fields) is scrubbed of things that look like
  JWTs, ``Bearer``/``Basic`` credentials and ``access_token``-style assignments;
* exception tracebacks are reduced to the exception type name, because exception messages and
  local reprs frequently quote request content.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from typing import Any, Protocol

import orjson

# Operational fields that may appear in a log line besides ts/level/logger/message.
ALLOWED_FIELDS: frozenset[str] = frozenset(
    {
        "request_id",
        "service",
        "hook",
        "method",
        "path",
        "status",
        "duration_ms",
        "parse_ms",
        "rules_ms",
        "fetch_ms",
        "outcome",
        "cards",
        "fetches",
        "fetch_errors",
        "resources",
        "rule",
        "rule_id",
        "kb_version",
        "reason",
        "resource_type",
        "error_type",
        "event",
        "component",
        "host",
        "attempt",
        "budget_s",
        "workers",
        "env",
        "auth",
        "issuer_count",
    }
)

# The fields every line carries; extras may not overwrite them.
_CORE_FIELDS = ("ts", "level", "logger", "message")

# A compact JWS/JWT: three base64url segments, the first starting with the '{"' of a JSON header.
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_AUTH_SCHEME_RE = re.compile(r"(?i)\b(bearer|basic|negotiate|digest)\s+[^\s,;\"']+")
_SECRET_ASSIGN_RE = re.compile(
    r"(?i)\b(access_token|refresh_token|id_token|token|authorization|password|secret|client_secret)"
    r"(\"?\s*[:=]\s*\"?)[^\s,;\"'&}]+"
)
_REDACTED = "[REDACTED]"
# Upper bound on the length of any string written, so a hostile value cannot flood the log.
_MAX_STRING = 2000

# The standard LogRecord attributes; everything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def scrub(text: str) -> str:
    """Remove anything that looks like a credential from ``text`` and bound its length."""
    text = _JWT_RE.sub(_REDACTED, text)
    text = _AUTH_SCHEME_RE.sub(lambda m: f"{m.group(1)} {_REDACTED}", text)
    text = _SECRET_ASSIGN_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{_REDACTED}", text)
    if len(text) > _MAX_STRING:
        text = text[:_MAX_STRING] + "...[truncated]"
    return text


def _safe_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub(value)
    return _DROP


_DROP = object()


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object, keeping only whitelisted, scrubbed fields."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not lose the line or raise in the handler
            message = str(record.msg)
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(message),
        }
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRS or key in _CORE_FIELDS or key not in ALLOWED_FIELDS:
                continue
            safe = _safe_value(value)
            if safe is not _DROP:
                entry[key] = safe
        if record.exc_info and record.exc_info[0] is not None:
            # Only the type: tracebacks and exception text can quote request content.
            entry["error_type"] = record.exc_info[0].__name__
        return orjson.dumps(entry).decode()


class _HasLogLevel(Protocol):
    log_level: str


_HANDLER_MARK = "_rrmm_cds_json_handler"


def configure_logging(settings_or_level: _HasLogLevel | str | int | None = None) -> None:
    """Install the JSON formatter on the root logger (idempotent).

    Accepts a settings object with a ``log_level`` attribute, a level name ("INFO") or number,
    or ``None`` for INFO.  Existing handlers installed by this function are replaced, so calling
    it again (e.g. once per ``create_app`` in tests) does not duplicate lines.
    """
    level: str | int
    if settings_or_level is None:
        level = logging.INFO
    elif isinstance(settings_or_level, str | int):
        level = settings_or_level
    else:
        level = getattr(settings_or_level, "log_level", None) or logging.INFO
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
        if not isinstance(level, int):
            level = logging.INFO

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    # Library loggers that would otherwise log URLs with query strings (patient ids) at INFO/DEBUG.
    for noisy in ("urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
