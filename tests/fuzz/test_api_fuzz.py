"""Fuzzing the HTTP API in-process: schemathesis from /openapi.json, hypothesis on request bodies.

Whatever arrives, the answer is never a 5xx (spec 01 §2, §3).  Runs against the WSGI app with
client authentication disabled (authentication has its own tests in tests/security/).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from cds_service import samples
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.services import discovery_document

from .fhir_strategies import json_values, prefetch_values
from .schema_runs import fuzz_settings, statuses_without_server_errors

FUZZ = fuzz_settings(60)
SERVICES = {service["id"]: service for service in discovery_document()["services"]}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    database = tmp_path_factory.mktemp("fuzz") / "store.sqlite3"
    return create_app(Settings(database_url=f"sqlite:///{database}", max_request_bytes=512 * 1024))


@pytest.fixture(scope="module")
def api_schema(app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def test_schemathesis_no_server_errors(api_schema: Any) -> None:
    """Every operation of /openapi.json, with schemathesis-generated valid and edge-case input."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/cds-services", "/cds-services/{service_id}",
                                              "/cds-services/{service_id}/feedback"}
    statuses = statuses_without_server_errors(operations, FUZZ)
    assert len(statuses) > 3 * len(operations)
    assert 200 in statuses and 400 in statuses


def valid_request(service_id: str) -> dict[str, Any]:
    service = SERVICES[service_id]
    persona = samples.personas()[0]
    return samples.hook_request(persona, service["hook"], samples.utc_today(),
                                prefetch_templates=service["prefetch"])


BASE_REQUESTS = {service_id: valid_request(service_id) for service_id in SERVICES}


@st.composite
def mutated_requests(draw: st.DrawFn) -> tuple[str, Any]:
    """A valid request with some fields replaced by arbitrary JSON or FHIR-like garbage."""
    service_id = draw(st.sampled_from(sorted(SERVICES)))
    request = copy.deepcopy(BASE_REQUESTS[service_id])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        where = draw(st.sampled_from(["top", "context", "prefetch"]))
        if where == "top":
            request[draw(st.sampled_from(["hook", "hookInstance", "context", "prefetch", "fhirServer",
                                          "fhirAuthorization", "extension", "other"]))] = draw(json_values)
        elif where == "context" and isinstance(request.get("context"), dict):
            request["context"][draw(st.sampled_from(["patientId", "userId", "draftOrders", "selections",
                                                     "encounterId"]))] = draw(st.one_of(json_values,
                                                                                       prefetch_values))
        elif isinstance(request.get("prefetch"), dict):
            keys = sorted(request["prefetch"]) + ["extra"]
            request["prefetch"][draw(st.sampled_from(keys))] = draw(prefetch_values)
    return service_id, request


@FUZZ
@given(mutated_requests())
def test_mutated_hook_requests_never_5xx(app: Flask, case: tuple[str, Any]) -> None:
    service_id, body = case
    response = app.test_client().post(f"/cds-services/{service_id}", data=json.dumps(body),
                                      content_type="application/json")
    assert response.status_code < 500
    assert response.status_code in (200, 400, 404, 412, 413)


@FUZZ
@given(st.sampled_from(sorted(SERVICES)), st.one_of(json_values, st.binary(max_size=200)),
       st.sampled_from(["", "/feedback"]))
def test_arbitrary_bodies_never_5xx(app: Flask, service_id: str, body: Any, suffix: str) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = app.test_client().post(f"/cds-services/{service_id}{suffix}", data=data,
                                      content_type="application/json")
    assert 400 <= response.status_code < 500 or response.status_code == 200
