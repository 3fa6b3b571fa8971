"""Per-key fetch failure policy (cds_service.fetch_policy): which sources the answer can do
without, what the client is told (data-gap card, 412 naming the search, transient refusal with
Retry-After) and what the log says (resource type and reason, never patient data)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import responses
from helpers import assert_operation_outcome, assert_valid_cds_response
from responses import matchers
from service_requests import (
    FHIR_BASE,
    PATIENT_ID,
    condition,
    full_prefetch,
    hook_request,
    medication_request,
    procedure,
    searchset,
)

from cds_service.app import create_app
from cds_service.logging_json import JsonFormatter
from cds_service.services import PREFETCH

TOKEN = "policy-token-8c1f"


def post(client, body, service_id="rrmm-relapse-guidance"):
    return client.post(f"/cds-services/{service_id}", data=json.dumps(body), content_type="application/json")


def auth() -> dict:
    return {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "x",
    }


def without(*keys: str) -> dict:
    prefetch = full_prefetch()
    for key in keys:
        del prefetch[key]
    return prefetch


@responses.activate
def test_a_refused_optional_search_is_reported_not_fatal(client, captured_contexts, caplog):
    responses.get(f"{FHIR_BASE}/MedicationDispense", status=403, json={"resourceType": "OperationOutcome"})
    body = hook_request(
        prefetch=without("medicationDispenses"), fhirServer=FHIR_BASE, fhirAuthorization=auth()
    )
    response = post(client, body)
    assert response.status_code == 200
    (source,) = captured_contexts[0].unavailable_sources
    assert (source.key, source.resource_type, source.reason) == (
        "medicationDispenses",
        "MedicationDispense",
        "HTTP 403",
    )
    logged = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if getattr(r, "event", None) == "fetch_source_unavailable"
    ]
    assert [(line["resource_type"], line["reason"]) for line in logged] == [("MedicationDispense", "HTTP 403")]
    assert PATIENT_ID not in caplog.text and TOKEN not in caplog.text
    assert len(responses.calls) == 1  # a refusal is not retried


@responses.activate
def test_a_refused_required_search_is_412_naming_the_search(client):
    responses.get(f"{FHIR_BASE}/Condition", status=403)
    body = hook_request(prefetch=without("conditions"), fhirServer=FHIR_BASE, fhirAuthorization=auth())
    response = post(client, body)
    assert response.status_code == 412
    outcome = response.get_json()
    assert_operation_outcome(outcome, mentions=PREFETCH["conditions"])
    assert "HTTP 403" in outcome["issue"][0]["diagnostics"]
    assert PATIENT_ID not in outcome["issue"][0]["diagnostics"]


@responses.activate
def test_medication_statements_may_fail_when_medication_requests_answer(client, captured_contexts):
    responses.get(f"{FHIR_BASE}/MedicationStatement", status=404)
    responses.get(f"{FHIR_BASE}/MedicationRequest", json=searchset())
    body = hook_request(
        prefetch=without("medicationStatements", "medicationRequests"),
        fhirServer=FHIR_BASE,
        fhirAuthorization=auth(),
    )
    assert post(client, body).status_code == 200
    assert [s.key for s in captured_contexts[0].unavailable_sources] == ["medicationStatements"]


@responses.activate
def test_no_medication_history_at_all_is_412_naming_both_searches(client):
    responses.get(f"{FHIR_BASE}/MedicationStatement", status=404)
    responses.get(f"{FHIR_BASE}/MedicationRequest", status=400)
    body = hook_request(
        prefetch=without("medicationStatements", "medicationRequests"),
        fhirServer=FHIR_BASE,
        fhirAuthorization=auth(),
    )
    response = post(client, body)
    assert response.status_code == 412
    text = response.get_json()["issue"][0]["diagnostics"]
    assert "medicationStatements" in text and "medicationRequests" in text


def test_optional_keys_not_sent_without_fhir_server_are_reported(client, captured_contexts):
    response = post(client, hook_request(prefetch=without("procedures", "diagnosticReports")))
    assert response.status_code == 200
    reported = {(s.key, s.reason) for s in captured_contexts[0].unavailable_sources}
    assert reported == {
        ("procedures", "not sent, no fhirServer"),
        ("diagnosticReports", "not sent, no fhirServer"),
    }


def test_required_key_not_sent_without_fhir_server_is_412_naming_it(client):
    response = post(client, hook_request(prefetch=without("patient", "procedures")))
    assert response.status_code == 412
    text = response.get_json()["issue"][0]["diagnostics"]
    assert "patient (Patient/{{context.patientId}})" in text and "procedures" not in text


@responses.activate
def test_persistent_server_error_is_transient_with_retry_after(client, test_settings):
    responses.get(f"{FHIR_BASE}/DiagnosticReport", status=503)
    body = hook_request(prefetch=without("diagnosticReports"), fhirServer=FHIR_BASE, fhirAuthorization=auth())
    response = post(client, body)
    # An optional source too: the data exists, the server could not deliver it now.
    assert response.status_code == 412
    assert response.headers["Retry-After"].isdigit() and int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["issue"][0]["code"] == "transient"
    assert len(responses.calls) == test_settings.fetch_retries + 1


@responses.activate
def test_upstream_failure_status_503_when_configured(tmp_path, fixed_clock, test_settings, captured_contexts):
    settings = dataclasses.replace(test_settings, upstream_failure_status=503)
    client = create_app(settings, clock=fixed_clock).test_client()
    responses.get(f"{FHIR_BASE}/Condition", status=502, headers={"Retry-After": "1"})
    response = post(client, hook_request(prefetch=without("conditions"), fhirServer=FHIR_BASE))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert_operation_outcome(response.get_json())


@responses.activate
def test_a_search_refused_for_include_or_count_is_asked_again_plainly(client, captured_contexts):
    plain = f"{FHIR_BASE}/MedicationRequest?patient={PATIENT_ID}"
    responses.get(plain, json=searchset(), match=[matchers.query_string_matcher(f"patient={PATIENT_ID}")])
    responses.get(f"{FHIR_BASE}/MedicationRequest", status=400)
    body = hook_request(
        prefetch=without("medicationRequests"), fhirServer=FHIR_BASE, fhirAuthorization=auth()
    )
    assert post(client, body).status_code == 200
    urls = [call.request.url for call in responses.calls]
    assert "_include=" in urls[0] and "_count=" in urls[0]
    assert urls[1] == plain
    assert captured_contexts[0].unavailable_sources == ()


@responses.activate
def test_first_page_in_prefetch_then_refused_pages_of_an_optional_key(client, captured_contexts):
    page2 = f"{FHIR_BASE}/Procedure?patient={PATIENT_ID}&page=2"
    responses.get(page2, status=403)
    prefetch = full_prefetch()
    prefetch["procedures"] = searchset(procedure("p1"), next_url=page2)
    assert post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)).status_code == 200
    ctx = captured_contexts[0]
    assert ctx.index.get("Procedure", "p1") is not None  # what did arrive is kept
    assert [(s.key, s.reason) for s in ctx.unavailable_sources] == [("procedures", "HTTP 403")]


@responses.activate
def test_refused_medication_reads_are_reported(client, captured_contexts):
    responses.get(f"{FHIR_BASE}/Medication", status=403)
    responses.get(f"{FHIR_BASE}/Medication/m1", status=403)
    prefetch = full_prefetch()
    prefetch["medicationRequests"] = searchset(
        medication_request("mr1", "active", "order", medicationReference={"reference": "Medication/m1"})
    )
    assert post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)).status_code == 200
    assert [(s.resource_type, s.reason) for s in captured_contexts[0].unavailable_sources] == [
        ("Medication", "HTTP 403")
    ]


# -- the cards the real handlers give ------------------------------------------------------------


def myeloma_prefetch() -> dict:
    prefetch = full_prefetch()
    prefetch["conditions"] = searchset(condition("mm", "Multiple myeloma"))
    return prefetch


@pytest.mark.parametrize("service_id", ["rrmm-relapse-guidance", "rrmm-order-sign"])
def test_the_clinician_sees_which_source_is_missing(client, service_id):
    prefetch = myeloma_prefetch()
    del prefetch["medicationDispenses"]
    response = post(client, hook_request(service_id, prefetch=prefetch), service_id)
    assert response.status_code == 200
    document = response.get_json()
    assert_valid_cds_response(document)
    gaps = [
        c
        for c in document["cards"]
        if c["source"]["topic"]["code"] == "data-gap" and "could not be read" in c["detail"]
    ]
    assert len(gaps) == 1
    assert "Medication dispenses" in gaps[0]["summary"]
    assert "not sent, no fhirServer" in gaps[0]["detail"]
    assert "Rule DATA-GAP" in gaps[0]["detail"]


def test_no_source_card_for_a_patient_without_myeloma(client):
    prefetch = full_prefetch()
    del prefetch["medicationDispenses"]
    assert post(client, hook_request(prefetch=prefetch)).get_json() == {"cards": []}


def test_the_card_names_every_source_once(client):
    prefetch = myeloma_prefetch()
    for key in ("labObservations", "vitalSigns", "diagnosticReports"):
        del prefetch[key]
    cards = post(client, hook_request(prefetch=prefetch)).get_json()["cards"]
    (gap,) = [c for c in cards if c["source"]["topic"]["code"] == "data-gap" and "could not be read" in c["detail"]]
    for name in ("Laboratory results", "Vital signs", "Diagnostic reports"):
        assert gap["detail"].count(name) == 1
    assert len(gap["summary"]) <= 139
