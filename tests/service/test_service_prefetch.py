"""Prefetch key states (spec 02 §1) and what reaches the handler (the HookContext)."""

from __future__ import annotations

import json
from datetime import date

import responses
from service_requests import (
    FHIR_BASE,
    PATIENT_ID,
    condition,
    full_prefetch,
    hook_request,
    patient,
    procedure,
    searchset,
)


def post(client, service_id, body):
    return client.post(f"/cds-services/{service_id}", data=json.dumps(body), content_type="application/json")


@responses.activate
def test_null_keys_mean_no_data_and_nothing_is_fetched(client, captured_contexts):
    prefetch = dict.fromkeys(full_prefetch())
    body = hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)
    response = post(client, "rrmm-relapse-guidance", body)
    assert response.status_code == 200
    assert len(responses.calls) == 0
    assert len(captured_contexts[0].index) == 0


def test_context_passed_to_handler(client, captured_contexts):
    body = hook_request("rrmm-order-select")
    post(client, "rrmm-order-select", body)
    (ctx,) = captured_contexts
    assert ctx.service_id == "rrmm-order-select"
    assert ctx.hook == "order-select"
    assert ctx.patient_id == PATIENT_ID
    assert ctx.evaluation_date == date(2026, 3, 15)  # the injected clock, read once
    assert ctx.context["selections"] == ["MedicationRequest/draft-1"]
    assert ctx.kb is not None
    # Draft orders are read from the context, never indexed as history.
    assert ctx.index.get("MedicationRequest", "draft-1") is None


def test_single_resource_and_untyped_bundle_are_indexed(client, captured_contexts):
    prefetch = full_prefetch()
    prefetch["conditions"] = condition("c-single")
    prefetch["procedures"] = searchset(procedure("p1"), typed=False)
    post(client, "rrmm-relapse-guidance", hook_request(prefetch=prefetch))
    index = captured_contexts[0].index
    assert index.get("Condition", "c-single") is not None
    assert index.get("Procedure", "p1") is not None
    assert index.get("Patient", PATIENT_ID) is not None


def test_same_resource_under_several_keys_is_deduplicated(client, captured_contexts):
    prefetch = full_prefetch()
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    prefetch["labObservations"] = searchset(obs)
    prefetch["vitalSigns"] = searchset(obs)
    prefetch["findingObservations"] = searchset(obs)
    post(client, "rrmm-relapse-guidance", hook_request(prefetch=prefetch))
    assert len(captured_contexts[0].index.of_type("Observation")) == 1


def test_extra_prefetch_keys_are_indexed(client, captured_contexts):
    prefetch = full_prefetch()
    prefetch["somethingElse"] = searchset(condition("c-extra"))
    post(client, "rrmm-relapse-guidance", hook_request(prefetch=prefetch))
    assert captured_contexts[0].index.get("Condition", "c-extra") is not None


def test_other_patients_resources_are_dropped(client, captured_contexts):
    prefetch = full_prefetch()
    other = dict(condition("c-other"), subject={"reference": "Patient/someone-else"})
    prefetch["conditions"] = searchset(condition("c-mine"), other)
    post(client, "rrmm-relapse-guidance", hook_request(prefetch=prefetch))
    index = captured_contexts[0].index
    assert index.get("Condition", "c-mine") is not None
    assert index.get("Condition", "c-other") is None


@responses.activate
def test_operation_outcome_key_is_fetched(client, captured_contexts):
    responses.get(f"{FHIR_BASE}/Condition", json=searchset(condition("c-fetched")))
    prefetch = full_prefetch()
    prefetch["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "exception", "diagnostics": "client failed"}],
    }
    body = hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)
    assert post(client, "rrmm-relapse-guidance", body).status_code == 200
    assert [call.request.url for call in responses.calls] == [
        f"{FHIR_BASE}/Condition?patient={PATIENT_ID}&_count=1000"
    ]
    assert captured_contexts[0].index.get("Condition", "c-fetched") is not None


@responses.activate
def test_absent_read_key_is_fetched_as_a_read(client, captured_contexts):
    responses.get(f"{FHIR_BASE}/Patient/{PATIENT_ID}", json=patient())
    prefetch = full_prefetch()
    del prefetch["patient"]
    assert (
        post(
            client, "rrmm-relapse-guidance", hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)
        ).status_code
        == 200
    )
    assert captured_contexts[0].index.get("Patient", PATIENT_ID) is not None


@responses.activate
def test_paginated_prefetch_follows_next_links(client, captured_contexts):
    page2 = f"{FHIR_BASE}?_getpages=abc&_getpagesoffset=1"
    page3 = f"{FHIR_BASE}?_getpages=abc&_getpagesoffset=2"
    responses.get(page2, json=searchset(condition("c2"), next_url=page3))
    responses.get(page3, json=searchset(condition("c3")))
    prefetch = full_prefetch()
    prefetch["conditions"] = searchset(condition("c1"), next_url=page2)
    body = hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)
    assert post(client, "rrmm-relapse-guidance", body).status_code == 200
    index = captured_contexts[0].index
    assert {c["id"] for c in index.of_type("Condition")} == {"c1", "c2", "c3"}


def test_paginated_prefetch_without_fhir_server_is_412(client):
    prefetch = full_prefetch()
    prefetch["conditions"] = searchset(condition("c1"), next_url=f"{FHIR_BASE}?page=2")
    response = post(client, "rrmm-relapse-guidance", hook_request(prefetch=prefetch))
    assert response.status_code == 412


@responses.activate
def test_complete_prefetch_with_fhir_server_fetches_nothing(client):
    body = hook_request(fhirServer=FHIR_BASE, fhirAuthorization=None)
    del body["fhirAuthorization"]
    assert post(client, "rrmm-relapse-guidance", body).status_code == 200
    assert len(responses.calls) == 0


@responses.activate
def test_identical_next_links_under_several_keys_are_followed_once(client, captured_contexts):
    page2 = f"{FHIR_BASE}/Observation?patient={PATIENT_ID}&_offset=1"
    obs = {
        "resourceType": "Observation",
        "id": "o2",
        "status": "final",
        "code": {"text": "creatinine"},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    responses.get(page2, json=searchset(obs))
    prefetch = full_prefetch()
    first = searchset(dict(obs, id="o1"), next_url=page2)
    for key in ("labObservations", "vitalSigns", "findingObservations"):
        prefetch[key] = first
    assert (
        post(
            client, "rrmm-relapse-guidance", hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)
        ).status_code
        == 200
    )
    assert len(responses.calls) == 1
    assert {o["id"] for o in captured_contexts[0].index.of_type("Observation")} == {"o1", "o2"}
