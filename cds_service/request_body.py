"""Reading a JSON request body within the size limit (415/413/400 as OperationOutcomes).

Shared by the hook calls, feedback and the timeline's explain endpoint, so all have the same
limits and error contract.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from flask import request

from cds_service import schemas
from cds_service.errors import CdsHttpError

JSON_MIMETYPES = frozenset({"application/json"})


def read_json_body(limit: int) -> Any:
    """Content type, size and JSON checks shared by service calls and feedback (415/413/400)."""
    if request.mimetype not in JSON_MIMETYPES:
        raise CdsHttpError(415, "Content-Type must be application/json", code="not-supported")
    if request.content_length is not None and request.content_length > limit:
        _discard_body(limit)
        raise CdsHttpError(413, f"request body is larger than {limit} bytes", code="too-costly")
    try:
        body = _read_at_most(limit + 1)
    except OSError:
        # The server's read deadline passed (RRMM_CDS_BODY_TIMEOUT) or the client went away.
        raise CdsHttpError(408, "the request body was not received in time", code="timeout") from None
    if len(body) > limit:
        _discard_body(limit)
        raise CdsHttpError(413, f"request body is larger than {limit} bytes", code="too-costly")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses invalid UTF-8, lone surrogates, nesting deeper than 1024 and
        # out-of-range numbers: all "not acceptable JSON" for us.
        raise CdsHttpError(400, "request body is not valid JSON", code="structure") from None
    # A character the store cannot keep (U+0000) is refused before anything is stored.
    if schemas.UNSTORABLE_ESCAPE in body:
        problems = schemas.unstorable_text(document)
        if problems:
            raise CdsHttpError(400, problems, code="value")
    return document


# Most HTTP clients send the whole body before they read the answer: answering 413 at once makes
# them see a reset connection instead of our OperationOutcome. So a moderately oversized body is read
# and thrown away first (bounded in bytes and time, so a huge or trickling upload cannot hold a worker).
_DRAIN_FACTOR = 4
_DRAIN_SECONDS = 5.0


def _discard_body(limit: int) -> None:
    declared = request.content_length
    allowance = _DRAIN_FACTOR * limit
    if declared is not None and declared > allowance:
        return  # far too large: close without reading it
    # The raw WSGI input: Flask's request.stream is already cut off at MAX_CONTENT_LENGTH.
    raw = request.environ.get("wsgi.input")
    if raw is None:
        return
    deadline = time.monotonic() + _DRAIN_SECONDS
    # With a declared length nothing has been read yet: read exactly that much (some servers hand
    # over the bare socket, where reading past the body would wait for bytes that never come).
    # A chunked body was partly read through request.stream; the server's input ends with it.
    remaining = declared if declared is not None else allowance + 1
    while remaining > 0 and time.monotonic() < deadline:
        try:
            chunk = raw.read(min(1024 * 1024, remaining))
        except (OSError, ValueError):
            return
        if not chunk:
            return
        remaining -= len(chunk)


def _read_at_most(size: int) -> bytes:
    """Read the body up to ``size`` bytes; a single read() of a WSGI stream may return less."""
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = request.stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
