"""JSON Schemas of the wire formats, compiled once at import.

``request``: the common CDS Hooks request; ``context-<hook>``: the hook's context (validated
after the hook is known to match the service); ``feedback``; ``response``: what we emit (used
to drop an invalid card before it is sent, and by the tests on every response).

Two validators per schema: ``jsonschema_rs`` (compiled Rust) answers "valid?" on every request
and every emitted card in well under a millisecond; the pure-Python ``jsonschema`` validator only
runs when that answer is no, to say what is wrong. The Python one is the reference: a document the
fast one rejects but the reference accepts is valid.

Error messages are built from the schema path, never from the offending value: request values
may hold patient data or megabytes of text, and both end up in responses and logs otherwise.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

SCHEMA_NAMES = (
    "request",
    "context-patient-view",
    "context-order-select",
    "context-order-sign",
    "feedback",
    "response",
    "timeline-explain-request",
    "timeline-explain",
)
MAX_REPORTED_ERRORS = 5


@cache
def schema(name: str) -> dict[str, Any]:
    """The parsed, meta-schema-checked ``<name>.schema.json`` (shared: callers must not mutate it)."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    document = json.loads(text)
    Draft202012Validator.check_schema(document)
    return document


@cache
def validator(name: str) -> Draft202012Validator:
    """The reference validator for ``<name>.schema.json`` (compiled once per process)."""
    return Draft202012Validator(schema(name))


@cache
def _fast_validator(name: str) -> Any:
    return jsonschema_rs.validator_for(schema(name))


def is_valid(name: str, document: Any) -> bool:
    """Whether ``document`` satisfies schema ``name``: the fast check, confirmed by the reference
    validator only when the fast one says no."""
    if _fast_validator(name).is_valid(document):
        return True
    return not any(True for _ in validator(name).iter_errors(document))


def load_all() -> None:
    """Compile every validator now, so a broken schema fails start-up rather than a request."""
    for name in SCHEMA_NAMES:
        validator(name)
        _fast_validator(name)


def problems(name: str, document: Any, *, prefix: str = "") -> list[str]:
    """Human-readable problems of ``document`` against schema ``name`` (empty when valid)."""
    if _fast_validator(name).is_valid(document):
        return []
    errors = sorted(
        validator(name).iter_errors(document), key=lambda e: (len(e.path), list(map(str, e.path)))
    )
    return [describe(error, prefix) for error in errors[:MAX_REPORTED_ERRORS]]


# Characters no text column of the store can hold: PostgreSQL refuses U+0000 in text (SQLite keeps
# it). JSON can only carry it escaped, so a body without this escape has none.
UNSTORABLE_ESCAPE = b"\\u0000"
UNSTORABLE_CHARACTERS = "\x00"


def unstorable_text(document: Any, *, limit: int = MAX_REPORTED_ERRORS) -> list[str]:
    """Where ``document`` holds a string (value or property name) with a character the store refuses.

    Checked for every service call and feedback body before anything is stored: a trusted client
    must not be able to keep a call out of the audit trail, or lose a whole feedback batch, by
    sending one such character.
    """
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", document)]
    while stack and len(found) < limit:
        location, value = stack.pop()
        if isinstance(value, str):
            if UNSTORABLE_CHARACTERS in value:
                found.append(f"{location or 'the body'} contains a character that cannot be stored (U+0000)")
        elif isinstance(value, dict):
            for key, item in value.items():
                if UNSTORABLE_CHARACTERS in key:
                    found.append(f"{location or 'the body'} has a property name that cannot be stored (U+0000)")
                    continue
                stack.append((_location(location, [key]), item))
        elif isinstance(value, list):
            stack.extend((_location(location, [index]), item) for index, item in enumerate(value))
    return sorted(found)


def describe(error: ValidationError, prefix: str = "") -> str:
    """Say where and what is wrong without quoting the value."""
    location = _location(prefix, error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = _missing_property(error)
        target = _location(location, [missing]) if missing else location
        return f"{target} is required"
    if kind == "dependentRequired":
        return f"{location or 'the object'} is missing a property required by another one"
    if kind == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"{location or 'the body'} must be of type {expected_text}"
    if kind in ("enum", "const"):
        allowed = error.validator_value if kind == "enum" else [error.validator_value]
        return f"{location} must be one of: {', '.join(map(str, allowed))}"
    if kind in ("minLength", "minItems", "minProperties"):
        return f"{location or 'the body'} must not be empty"
    if kind in ("maxLength", "maxItems", "maxProperties", "maximum"):
        return f"{location or 'the body'} is too large"
    if kind == "pattern":
        return f"{location} has an invalid format"
    if kind == "propertyNames":
        return f"{location} has an invalid property name"
    return f"{location or 'the body'} is invalid ({kind})"


def _missing_property(error: ValidationError) -> str | None:
    # jsonschema's message is "'<name>' is a required property"; the name comes from our schema.
    for name in error.validator_value or ():
        if isinstance(error.instance, dict) and name not in error.instance:
            return str(name)
    return None


def _location(prefix: str, path: Any) -> str:
    parts = [prefix] if prefix else []
    for element in path:
        if isinstance(element, int):
            parts.append(f"[{element}]")
        else:
            # Property names come from the request; keep them short in messages.
            parts.append(("." if parts else "") + str(element)[:64])
    return "".join(parts)
