"""Every refusal of spec 01 §2 (400/404/412/413/415) carries an OperationOutcome; nothing is a 5xx."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
from helpers import assert_operation_outcome, assert_valid_cds_response
from service_requests import HOOK_OF, PATIENT_ID, hook_request

from cds_cards.builder import build_card
from cds_service.app import create_app

SERVICE_IDS = list(HOOK_OF)


def post(client, path: str, body, content_type: str = "application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, data=data, content_type=content_type)


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_valid_minimal_request_gets_valid_cards(client, service_id):
    response = post(client, f"/cds-services/{service_id}", hook_request(service_id))
    assert response.status_code == 200
    assert isinstance(response.get_json()["cards"], list)
    assert_valid_cds_response(response.get_json())


def test_charset_in_content_type_accepted(client):
    response = post(
        client, "/cds-services/rrmm-relapse-guidance", hook_request(), "application/json; charset=utf-8"
    )
    assert response.status_code == 200


def test_unknown_service_404(client):
    response = post(client, "/cds-services/no-such-service", hook_request())
    assert response.status_code == 404
    assert_operation_outcome(response.get_json())


def test_unknown_path_404_is_json(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert_operation_outcome(response.get_json())


def test_wrong_method_405_is_json(client):
    response = client.delete("/cds-services")
    assert response.status_code == 405
    assert_operation_outcome(response.get_json())


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_415(client, content_type):
    response = post(client, "/cds-services/rrmm-relapse-guidance", hook_request(), content_type)
    assert response.status_code == 415
    assert_operation_outcome(response.get_json())


def test_body_over_limit_413_by_content_length(test_settings, fixed_clock):
    app = create_app(replace(test_settings, max_request_bytes=2048), clock=fixed_clock)
    body = hook_request(extension={"padding": "x" * 4096})
    response = post(app.test_client(), "/cds-services/rrmm-relapse-guidance", body)
    assert response.status_code == 413
    assert_operation_outcome(response.get_json())


def test_body_over_limit_413_when_streamed_without_length(test_settings, fixed_clock):
    app = create_app(replace(test_settings, max_request_bytes=2048), clock=fixed_clock)
    payload = json.dumps(hook_request(extension={"padding": "x" * 4096})).encode()

    response = app.test_client().post(
        "/cds-services/rrmm-relapse-guidance",
        input_stream=io.BytesIO(payload),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        # What gunicorn sets for a chunked body: the stream ends where the body ends.
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert_operation_outcome(response.get_json())


@pytest.mark.parametrize(
    "raw",
    [
        b'{"hook": "patient-view", "context": {',
        b"\xff\xfe not utf-8",
        b'{"hook": "\\ud800", "hookInstance": "x"}',
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"hook": "patient-view", "n": ' + b"9" * 5000 + b"}",
        b"",
    ],
    ids=["truncated", "not-utf8", "lone-surrogate", "deep-arrays", "deep-objects", "huge-integer", "empty"],
)
def test_unparseable_bodies_400(client, raw):
    response = post(client, "/cds-services/rrmm-relapse-guidance", raw)
    assert response.status_code == 400
    assert_operation_outcome(response.get_json())


@pytest.mark.parametrize("body", [[], None, "text", 12, {}])
def test_non_request_json_400(client, body):
    response = post(client, "/cds-services/rrmm-relapse-guidance", body)
    assert response.status_code == 400
    assert_operation_outcome(response.get_json())


def test_missing_hook_instance_named(client):
    body = hook_request()
    del body["hookInstance"]
    response = post(client, "/cds-services/rrmm-relapse-guidance", body)
    assert response.status_code == 400
    assert_operation_outcome(response.get_json(), mentions="hookInstance")


def test_hook_mismatch_400(client):
    body = hook_request("rrmm-order-sign")
    response = post(client, "/cds-services/rrmm-relapse-guidance", body)
    assert response.status_code == 400
    assert_operation_outcome(response.get_json(), mentions="hook")


@pytest.mark.parametrize(
    ("service_id", "field"),
    [
        ("rrmm-relapse-guidance", "patientId"),
        ("rrmm-relapse-guidance", "userId"),
        ("rrmm-order-select", "selections"),
        ("rrmm-order-select", "draftOrders"),
        ("rrmm-order-sign", "draftOrders"),
    ],
)
def test_missing_context_field_named(client, service_id, field):
    body = hook_request(service_id)
    del body["context"][field]
    response = post(client, f"/cds-services/{service_id}", body)
    assert response.status_code == 400
    assert_operation_outcome(response.get_json(), mentions=f"context.{field}")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(context="patientId=pt-123"),
        lambda b: b.update(prefetch=[{"resourceType": "Patient"}]),
        lambda b: b.update(prefetch={"conditions": "Condition/1"}),
        lambda b: b.update(extension=[]),
        lambda b: b.update(hook=5),
        lambda b: b.update(hookInstance={"x": 1}),
        lambda b: b.update(fhirServer="not a url"),
        lambda b: b.update(
            fhirServer="http://127.0.0.1:9/fhir",
            fhirAuthorization={"access_token": 12, "token_type": "MAC", "expires_in": "soon"},
        ),
        lambda b: b["context"].update(patientId="A" * 2_000),
        lambda b: b["context"].update(patientId="a/b"),
    ],
    ids=[
        "context-string",
        "prefetch-list",
        "prefetch-value-string",
        "extension-array",
        "hook-number",
        "hookInstance-object",
        "fhirServer-not-url",
        "fhirAuthorization-types",
        "patientId-huge",
        "patientId-slash",
    ],
)
def test_malformed_fields_400_without_echoing_values(client, mutate):
    body = hook_request()
    mutate(body)
    response = post(client, "/cds-services/rrmm-relapse-guidance", body)
    assert response.status_code == 400
    outcome = response.get_json()
    assert_operation_outcome(outcome)
    assert "AAAAAAAA" not in json.dumps(outcome)


def test_order_context_shapes_400(client):
    body = hook_request("rrmm-order-select")
    body["context"].update(draftOrders="MedicationRequest/1", selections={"MedicationRequest/1": True})
    response = post(client, "/cds-services/rrmm-order-select", body)
    assert response.status_code == 400
    assert_operation_outcome(response.get_json())


def test_missing_data_without_fhir_server_412(client):
    response = post(client, "/cds-services/rrmm-relapse-guidance", hook_request(prefetch=None))
    assert response.status_code == 412
    assert_operation_outcome(response.get_json(), mentions="fhirServer")


def test_handler_exception_gives_empty_cards_not_5xx(client, set_cards, caplog):
    def broken(ctx):
        raise RuntimeError(f"bug while reading {ctx.patient_id}")

    set_cards(broken)
    response = post(client, "/cds-services/rrmm-relapse-guidance", hook_request())
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}
    assert any(getattr(r, "error_type", None) == "RuntimeError" for r in caplog.records)
    assert PATIENT_ID not in caplog.text


def test_handler_returning_garbage_gives_empty_cards(client, set_cards):
    set_cards(lambda ctx: "not a list")
    response = post(client, "/cds-services/rrmm-order-sign", hook_request("rrmm-order-sign"))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_invalid_cards_dropped_valid_ones_kept(client, set_cards):
    good = build_card(
        summary="Consider DRd", indicator="info", topic="data-gap", source_label="RRMM · KB test"
    )
    bad = {"summary": "no uuid", "indicator": "info", "source": {"label": "x"}}
    empty_detail = dict(good, uuid="6f1c1c6e-4b7a-4a8e-9a39-0d3f0a1b2c3d", detail="")
    set_cards(lambda ctx: [good, bad, empty_detail, good])
    response = post(client, "/cds-services/rrmm-relapse-guidance", hook_request())
    assert response.status_code == 200
    doc = response.get_json()
    assert [card["uuid"] for card in doc["cards"]] == [good["uuid"]]
    assert_valid_cds_response(doc)


def test_cards_from_handler_are_returned(client, set_cards):
    card = build_card(
        summary="Check dose", indicator="info", topic="dose-adjustment", source_label="RRMM · KB"
    )
    set_cards(lambda ctx: [card])
    response = post(client, "/cds-services/rrmm-order-select", hook_request("rrmm-order-select"))
    assert response.get_json() == {"cards": [card]}


def test_pipeline_crash_outside_handler_gives_empty_cards(client, monkeypatch):
    import cds_service.pipeline as pipeline_module

    def explode(*args, **kwargs):
        raise KeyError("unexpected")

    monkeypatch.setattr(pipeline_module, "gather", explode)
    response = post(client, "/cds-services/rrmm-relapse-guidance", hook_request())
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_service_still_answers_after_malformed_bodies(client):
    for raw in (b"[" * 50_000, b"null", b'{"hook": 1}'):
        post(client, "/cds-services/rrmm-relapse-guidance", raw)
    assert post(client, "/cds-services/rrmm-relapse-guidance", hook_request()).status_code == 200


class TricklingStream(io.BytesIO):
    """A WSGI input whose read() returns a few bytes at a time, as sockets may."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(7 if size is None or size < 0 else min(size, 7))

    def readinto(self, buffer) -> int:  # type: ignore[override]
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_body_read_in_small_pieces_is_read_whole(client):
    payload = json.dumps(hook_request()).encode()
    response = client.post(
        "/cds-services/rrmm-relapse-guidance",
        input_stream=TricklingStream(payload),
        headers={"Content-Type": "application/json", "Content-Length": str(len(payload))},
    )
    assert response.status_code == 200
