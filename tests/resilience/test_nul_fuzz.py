"""schemathesis with U+0000 in generated strings, against the app on PostgreSQL (which refuses it):
never a 5xx. And, deterministically, U+0000 in each string of a valid hook call and feedback
body: a 400 naming the field, never a 5xx, nothing stored."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from fuzz.schema_runs import fuzz_settings, statuses_without_server_errors
from sqlalchemy import func, select

from cds_service import samples
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.services import discovery_document
from cds_service.store import Store
from cds_service.store.schema import audit_response, feedback

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SERVICE = discovery_document()["services"][0]
FUZZ = fuzz_settings(40)


@pytest.fixture
def app(postgres_database_url: str) -> Flask:
    Store.from_url(postgres_database_url, migrate=True).dispose()
    return create_app(Settings(database_url=postgres_database_url, max_request_bytes=512 * 1024))


def test_schemathesis_with_nul_generation_finds_no_server_error(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.config.generation.update(allow_x00=True)  # schemathesis' default; said so it stays on
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses = statuses_without_server_errors(operations, FUZZ)
    assert 400 in statuses


def _string_paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_paths(item, (*path, index))


def _with_nul(document: Any, path: tuple) -> Any:
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = target[path[-1]] + "\u0000"
    return changed


def _is_hook_identifier(path: tuple) -> bool:
    return len(path) == 1 or (len(path) == 2 and path[0] == "context")


def test_nul_in_stored_fields_is_a_400_and_in_clinical_text_the_call_is_answered(app: Flask) -> None:
    client = app.test_client()
    request = samples.hook_request(samples.personas()[0], SERVICE["hook"], samples.utc_today(),
                                   prefetch_templates=SERVICE["prefetch"])
    # Only the Patient, the other keys "nothing exists" (null): every string a short call has.
    request["prefetch"] = {key: (value if key == "patient" else None) for key, value in request["prefetch"].items()}
    item = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-03-15T14:31:00Z",
            "overrideReason": {"reason": {"code": "c", "system": "urn:s", "display": "d"}, "userComment": "x"}}
    hook_url = f"/cds-services/{SERVICE['id']}"
    refused = answered = 0
    for path in _string_paths(request):
        response = client.post(hook_url, json=_with_nul(request, path))
        if _is_hook_identifier(path):
            assert response.status_code == 400, (path, response.status_code)
            refused += 1
        else:
            # Read, never stored: answered, or refused for what the resource then lacks (a
            # resourceType with U+0000 is no Patient: 412), never as an unstorable character.
            assert response.status_code in (200, 412), (path, response.status_code)
            assert "U+0000" not in response.get_data(as_text=True), path
            answered += response.status_code == 200
    for path in _string_paths({"feedback": [item]}):
        response = client.post(f"{hook_url}/feedback", json=_with_nul({"feedback": [item]}, path))
        assert response.status_code == 400, (path, response.status_code)
        refused += 1
    store = app.extensions["rrmm_cds"].store
    with store.engine.connect() as connection:
        # Every answered call has its audit row; nothing refused was stored.
        assert connection.execute(select(func.count()).select_from(audit_response)).scalar_one() == answered
        assert connection.execute(select(func.count()).select_from(feedback)).scalar_one() == 0
    assert refused > 5 and answered >= 10


def test_nul_in_a_free_text_note_leaves_the_cards_unchanged(app: Flask) -> None:
    client = app.test_client()
    request = samples.hook_request(samples.personas()[0], SERVICE["hook"], samples.utc_today(),
                                   prefetch_templates=SERVICE["prefetch"])
    hook_url = f"/cds-services/{SERVICE['id']}"
    plain = client.post(hook_url, json=request)
    assert plain.status_code == 200 and plain.get_json()["cards"]
    noted = copy.deepcopy(request)
    entries = [entry for bundle in noted["prefetch"].values() if isinstance(bundle, dict)
               for entry in bundle.get("entry", [])]
    assert entries
    entries[0]["resource"]["note"] = [{"text": "pasted from a scanner\u0000 report"}]
    answered = client.post(hook_url, json=noted)
    assert answered.status_code == 200
    summaries = [card["summary"] for card in answered.get_json()["cards"]]
    assert summaries == [card["summary"] for card in plain.get_json()["cards"]]
