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
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from cds_service import samples
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.services import discovery_document
from cds_service.store import Store
from cds_service.store.schema import audit_response, feedback

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SERVICE = discovery_document()["services"][0]
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.filter_too_much, HealthCheck.data_too_large])


@pytest.fixture
def app(postgres_database_url: str) -> Flask:
    Store.from_url(postgres_database_url, migrate=True).dispose()
    return create_app(Settings(database_url=postgres_database_url, max_request_bytes=512 * 1024))


def test_schemathesis_with_nul_generation_finds_no_server_error(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.config.generation.update(allow_x00=True)
    assert schema.config.generation.allow_x00
    statuses: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=operation.as_strategy())
        def no_server_error(case: Any) -> None:
            response = case.call()
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"

        no_server_error()
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


def test_nul_in_any_string_of_a_call_or_feedback_is_a_400(app: Flask) -> None:
    client = app.test_client()
    request = samples.hook_request(samples.personas()[0], SERVICE["hook"], samples.utc_today(),
                                   prefetch_templates=SERVICE["prefetch"])
    request["prefetch"] = {"patient": request["prefetch"]["patient"]}
    item = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-03-15T14:31:00Z",
            "overrideReason": {"reason": {"code": "c", "system": "urn:s", "display": "d"}, "userComment": "x"}}
    cases = [(f"/cds-services/{SERVICE['id']}", request), (f"/cds-services/{SERVICE['id']}/feedback", {"feedback": [item]})]
    checked = 0
    for url, body in cases:
        for path in _string_paths(body):
            response = client.post(url, json=_with_nul(body, path))
            assert response.status_code == 400, (url, path, response.status_code)
            checked += 1
    store = app.extensions["rrmm_cds"].store
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(audit_response)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(feedback)).scalar_one() == 0
    assert checked > 20
