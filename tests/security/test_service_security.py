"""Security behaviour of the real app (create_app): auth on every CDS endpoint, limits, and a
log scan proving that tokens, JWTs and patient data never reach the logs."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import responses as responses_lib

from cds_service import samples
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.services import discovery_document

from .jwt_helpers import BASE_URL, ClientKeys

FHIR_BASE = "http://127.0.0.1:9999/fhir"
SECRET_NAME_FAMILY = "Quillborough"
SECRET_NAME_GIVEN = "Zyxwavena"
SECRET_MRN = "MRN-SECRET-938174"
SECRET_FHIR_TOKEN = "fhir-access-token-SECRET-5b1f0c"


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


def services() -> dict[str, dict[str, Any]]:
    return {service["id"]: service for service in discovery_document()["services"]}


def secure_settings(tmp_path: Path, keys: ClientKeys, **overrides: Any) -> Settings:
    return dataclasses.replace(
        Settings(database_url=f"sqlite:///{tmp_path / 'store.sqlite3'}"),
        auth="required", public_base_url=BASE_URL, trusted_issuers=str(keys.write(tmp_path)), **overrides,
    )


def with_secrets(request: dict[str, Any]) -> dict[str, Any]:
    """Give the request's Patient a known name and MRN, wherever it appears."""
    request = copy.deepcopy(request)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("resourceType") == "Patient":
                node["name"] = [{"family": SECRET_NAME_FAMILY, "given": [SECRET_NAME_GIVEN]}]
                node["identifier"] = [{"system": "urn:oid:1.2.3.4", "value": SECRET_MRN}]
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(request)
    return request


def fake_fhir_answer(url: str, chart: list[dict[str, Any]]) -> dict[str, Any]:
    """A read returns the chart's Patient; a search returns the chart's resources of that type."""
    relative = url.split("/fhir/", 1)[1]
    if "?" not in relative:
        return next((r for r in chart if r["resourceType"] == "Patient"), {"resourceType": "Patient"})
    rtype = relative.split("?", 1)[0]
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r} for r in chart if r["resourceType"] == rtype]}


def persona_requests() -> list[tuple[str, dict[str, Any]]]:
    today = samples.utc_today()
    out = []
    catalogue = services()
    for persona in samples.personas()[:4]:
        for service_id, service in catalogue.items():
            request = samples.hook_request(persona, service["hook"], today, prefetch_templates=service["prefetch"])
            out.append((service_id, with_secrets(request)))
    return out


def test_log_never_holds_tokens_jwts_or_patient_data(tmp_path: Path, keys: ClientKeys,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    app = create_app(secure_settings(tmp_path, keys))
    client = app.test_client()
    sent_jwts: list[str] = []
    patient_ids: set[str] = set()

    def post(path: str, body: Any, *, token: bool = True, raw: bytes | None = None) -> int:
        headers = {}
        if token:
            jwt_value = keys.token(BASE_URL + path)
            sent_jwts.append(jwt_value)
            headers["Authorization"] = f"Bearer {jwt_value}"
        data = raw if raw is not None else json.dumps(body).encode()
        response = client.post(path, data=data, headers=headers, content_type="application/json")
        assert response.status_code < 500
        return response.status_code

    statuses = []
    for service_id, request in persona_requests():
        patient_ids.add(request["context"]["patientId"])
        statuses.append(post(f"/cds-services/{service_id}", request))
        # The same data in broken shapes: validation errors must not echo values either.
        broken = copy.deepcopy(request)
        broken["hookInstance"] = {"name": SECRET_NAME_FAMILY}
        statuses.append(post(f"/cds-services/{service_id}", broken))
        statuses.append(post(f"/cds-services/{service_id}", request, raw=b'{"hook": "' + SECRET_MRN.encode()))
        # An authorization failure (no token).
        statuses.append(post(f"/cds-services/{service_id}", request, token=False))
    assert 200 in statuses and 400 in statuses

    # Missing data fetched from a FHIR server with a bearer token.
    persona = samples.personas()[0]
    today = samples.utc_today()
    chart = with_secrets({"entry": samples.resources(persona, today)})["entry"]
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as fhir:
        fhir.add_callback(responses_lib.GET, re.compile(rf"{re.escape(FHIR_BASE)}/.*"),
                          callback=lambda req: (200, {}, json.dumps(fake_fhir_answer(req.url, chart))))
        request = samples.hook_request(persona, "patient-view", today, fhir_server=FHIR_BASE,
                                       fhir_token=SECRET_FHIR_TOKEN)
        patient_ids.add(request["context"]["patientId"])
        statuses.append(post("/cds-services/rrmm-relapse-guidance", request))
        assert any(call.request.headers.get("Authorization") == f"Bearer {SECRET_FHIR_TOKEN}"
                   for call in fhir.calls)
    # Feedback with a valid JWT and a replay of that same JWT.
    replayed = keys.token(BASE_URL + "/cds-services/rrmm-order-sign/feedback")
    sent_jwts.append(replayed)
    for _ in range(2):
        client.post("/cds-services/rrmm-order-sign/feedback", headers={"Authorization": f"Bearer {replayed}"},
                    json={"feedback": [{"card": "0c5b2d2e-7a8e-4bd8-9f3c-1f6b1b0a6f11", "outcome": "overridden",
                                        "outcomeTimestamp": "2026-03-15T14:30:00Z"}]})

    text = log.getvalue()
    assert text.count("\n") > 20, "expected request log lines"
    for line in text.splitlines():
        json.loads(line)  # every line is one JSON object
    forbidden = [SECRET_FHIR_TOKEN, SECRET_MRN, SECRET_NAME_FAMILY, SECRET_NAME_GIVEN, *patient_ids]
    for jwt_value in sent_jwts:
        forbidden.extend(jwt_value.split("."))
    leaked = [secret for secret in forbidden if secret in text]
    assert not leaked, f"secrets in the log: {leaked[:3]}"


def test_401_from_the_real_app_is_uniform_and_carries_cors(tmp_path: Path, keys: ClientKeys) -> None:
    client = create_app(secure_settings(tmp_path, keys)).test_client()
    origin = {"Origin": "https://sandbox.cds-hooks.org"}
    no_token = client.get("/cds-services", headers=origin)
    bad_token = client.post("/cds-services/rrmm-order-sign", json={}, headers={
        **origin, "Authorization": f"Bearer {keys.token(BASE_URL + '/cds-services')}"})
    for response in (no_token, bad_token):
        assert response.status_code == 401
        assert response.headers["Access-Control-Allow-Origin"]
    assert no_token.get_data() == bad_token.get_data()
    preflight = client.options("/cds-services/rrmm-order-sign/feedback", headers={
        **origin, "Access-Control-Request-Method": "POST"})
    assert 200 <= preflight.status_code < 300
    for path in ("/healthz", "/openapi.json"):
        assert client.get(path).status_code == 200


def test_too_many_resources_is_refused_with_an_operation_outcome(tmp_path: Path, keys: ClientKeys) -> None:
    settings = dataclasses.replace(secure_settings(tmp_path, keys), auth="disabled", max_resources=50)
    client = create_app(settings).test_client()
    service = services()["rrmm-relapse-guidance"]
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": {"resourceType": "Observation", "id": f"o{i}", "status": "final"}}
                        for i in range(51)]}
    request = {"hook": service["hook"], "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
               "context": {"userId": "Practitioner/1", "patientId": "p1"},
               "prefetch": {"labObservations": bundle}}
    response = client.post("/cds-services/rrmm-relapse-guidance", json=request)
    assert response.status_code == 413
    assert response.get_json()["resourceType"] == "OperationOutcome"
    bundle["entry"] = bundle["entry"][:10]
    assert client.post("/cds-services/rrmm-relapse-guidance", json=request).status_code < 500


def test_count_resources() -> None:
    from cds_service.security.limits import count_resources

    assert count_resources(None) == 0
    assert count_resources({"prefetch": {"a": None, "b": {"resourceType": "Patient"},
                                         "c": {"resourceType": "Bundle", "entry": [{}, {}, {}]}},
                            "context": {"draftOrders": {"resourceType": "Bundle", "entry": [{}]},
                                        "patientId": "p"}}) == 5
    assert count_resources({"prefetch": [1, 2], "context": "x"}) == 0
