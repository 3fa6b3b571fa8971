"""Fetching missing data from fhirServer (spec 01 §2, §3): token, retries, budget, allow-list."""

from __future__ import annotations

import json
import re

import pytest
import requests
import responses
from helpers import assert_operation_outcome
from service_requests import FHIR_BASE, PATIENT_ID, condition, full_prefetch, hook_request, patient, searchset

from cds_service.fhir_client import FhirClient, FhirError

TOKEN = "secret-access-token-123"


def auth(token: str = TOKEN) -> dict:
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds",
    }


def post(client, body, service_id="rrmm-relapse-guidance"):
    return client.post(f"/cds-services/{service_id}", data=json.dumps(body), content_type="application/json")


def serve_everything(rsps: responses.RequestsMock) -> None:
    """Answer every read/search of the patient's record with an empty result."""
    rsps.get(f"{FHIR_BASE}/Patient/{PATIENT_ID}", json=patient())
    for rtype in (
        "Condition",
        "MedicationStatement",
        "MedicationRequest",
        "MedicationAdministration",
        "MedicationDispense",
        "Observation",
        "Procedure",
        "DiagnosticReport",
    ):
        rsps.get(f"{FHIR_BASE}/{rtype}", json=searchset())


@responses.activate
def test_all_missing_data_fetched_with_bearer_token(client, captured_contexts):
    serve_everything(responses.mock)
    response = post(client, hook_request(prefetch=None, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert response.status_code == 200
    assert len(responses.calls) == len(full_prefetch())
    for call in responses.calls:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert PATIENT_ID in call.request.url


@responses.activate
def test_no_authorization_header_without_fhir_authorization(client, captured_contexts):
    serve_everything(responses.mock)
    post(client, hook_request(prefetch=None, fhirServer=FHIR_BASE, fhirAuthorization=auth("first-token")))
    responses.calls.reset()
    response = post(client, hook_request(prefetch=None, fhirServer=FHIR_BASE))
    assert response.status_code == 200
    assert responses.calls
    assert all("Authorization" not in call.request.headers for call in responses.calls)


@responses.activate
def test_token_never_logged(client, captured_contexts, caplog):
    serve_everything(responses.mock)
    post(client, hook_request(prefetch=None, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert TOKEN not in caplog.text
    assert PATIENT_ID not in caplog.text


@responses.activate
def test_transient_errors_are_retried(client, captured_contexts):
    responses.get(f"{FHIR_BASE}/Condition", status=503)
    responses.get(f"{FHIR_BASE}/Condition", json=searchset(condition("c-late")))
    prefetch = full_prefetch()
    del prefetch["conditions"]
    response = post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert response.status_code == 200
    assert len(responses.calls) == 2
    assert captured_contexts[0].index.get("Condition", "c-late") is not None


@responses.activate
def test_persistent_server_error_is_412_after_bounded_retries(client, test_settings):
    responses.get(f"{FHIR_BASE}/Condition", status=500)
    prefetch = full_prefetch()
    del prefetch["conditions"]
    response = post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert response.status_code == 412
    assert_operation_outcome(response.get_json())
    assert len(responses.calls) == test_settings.fetch_retries + 1


@responses.activate
def test_timeout_is_412(client):
    responses.get(f"{FHIR_BASE}/Condition", body=requests.exceptions.ReadTimeout("slow"))
    prefetch = full_prefetch()
    prefetch["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
    response = post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE))
    assert response.status_code == 412
    assert_operation_outcome(response.get_json())


@responses.activate
def test_client_error_is_412(client):
    responses.get(f"{FHIR_BASE}/Condition", status=401)
    prefetch = full_prefetch()
    del prefetch["conditions"]
    response = post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert response.status_code == 412
    assert len(responses.calls) == 1  # a 4xx is not retried


@responses.activate
def test_server_not_on_allow_list_is_not_contacted(client):
    prefetch = full_prefetch()
    del prefetch["conditions"]
    for server in (
        "http://10.0.0.5/fhir",
        "http://127.0.0.1:9999@10.0.0.5/fhir",
        "https://fhir.example.org/r4",
    ):
        response = post(client, hook_request(prefetch=prefetch, fhirServer=server, fhirAuthorization=auth()))
        assert response.status_code == 412
        assert_operation_outcome(response.get_json())
    assert len(responses.calls) == 0


@responses.activate
def test_redirect_off_the_allow_list_not_followed(client):
    responses.get(
        f"{FHIR_BASE}/Condition", status=302, headers={"Location": "http://10.0.0.5/fhir/Condition"}
    )
    prefetch = full_prefetch()
    del prefetch["conditions"]
    response = post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert response.status_code == 412
    assert [call.request.url.split("?")[0] for call in responses.calls] == [f"{FHIR_BASE}/Condition"]


@responses.activate
def test_redirect_within_the_server_followed_with_token(client, captured_contexts):
    responses.get(
        f"{FHIR_BASE}/Condition", status=307, headers={"Location": f"{FHIR_BASE}/v2/Condition?patient=x"}
    )
    responses.get(f"{FHIR_BASE}/v2/Condition", json=searchset(condition("c-moved")))
    prefetch = full_prefetch()
    del prefetch["conditions"]
    response = post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert response.status_code == 200
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert captured_contexts[0].index.get("Condition", "c-moved") is not None


@responses.activate
def test_next_link_off_the_server_not_followed(client):
    prefetch = full_prefetch()
    prefetch["conditions"] = searchset(condition("c1"), next_url="http://10.0.0.5/fhir?page=2")
    response = post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert response.status_code == 412
    assert len(responses.calls) == 0


def medication_statement(ref: str) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "status": "active",
        "medicationReference": {"reference": ref},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }


def medication_search(*ids: str) -> str:
    return f"{FHIR_BASE}/Medication?_id={','.join(ids)}&_count={len(ids)}"


@responses.activate
def test_unresolved_medication_reference_is_read(client, captured_contexts):
    medication = {"resourceType": "Medication", "id": "med-1", "code": {"text": "Revlimid 10 mg capsule"}}
    responses.get(f"{FHIR_BASE}/Medication", json=searchset(medication))
    prefetch = full_prefetch()
    prefetch["medicationStatements"] = searchset(medication_statement("Medication/med-1"))
    response = post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert response.status_code == 200
    assert captured_contexts[0].index.get("Medication", "med-1") == medication
    assert [call.request.url for call in responses.calls] == [medication_search("med-1")]
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_missing_medication_tolerated(client, captured_contexts):
    responses.get(f"{FHIR_BASE}/Medication", json=searchset())
    prefetch = full_prefetch()
    prefetch["medicationStatements"] = searchset(medication_statement("Medication/gone"))
    response = post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE))
    assert response.status_code == 200
    assert captured_contexts[0].unavailable_sources == ()


@responses.activate
def test_draft_order_medication_on_the_server_is_read(client, captured_contexts):
    medication = {"resourceType": "Medication", "id": "med-draft", "code": {"text": "Revlimid 25 mg capsule"}}
    responses.get(f"{FHIR_BASE}/Medication", json=searchset(medication))
    body = hook_request("rrmm-order-sign", fhirServer=FHIR_BASE, fhirAuthorization=auth())
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    del draft["medicationCodeableConcept"]
    draft["medicationReference"] = {"reference": "Medication/med-draft"}
    response = post(client, body, "rrmm-order-sign")
    assert response.status_code == 200
    assert captured_contexts[0].index.get("Medication", "med-draft") == medication
    assert [call.request.url for call in responses.calls] == [medication_search("med-draft")]


def test_medication_reference_without_server_is_not_an_error(client, captured_contexts):
    prefetch = full_prefetch()
    prefetch["medicationStatements"] = searchset(medication_statement("Medication/med-1"))
    assert post(client, hook_request(prefetch=prefetch)).status_code == 200


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@responses.activate
def test_budget_shared_by_all_requests():
    clock = FakeClock()

    def slow_page(request):
        clock.now += 4.0  # every request "takes" four seconds
        page = int(clock.now // 4)
        return 200, {}, json.dumps(searchset(next_url=f"{FHIR_BASE}/Condition?page={page}"))

    responses.add_callback(responses.GET, f"{FHIR_BASE}/Condition", callback=slow_page)
    client = FhirClient(
        FHIR_BASE,
        access_token=None,
        permits=lambda url: True,
        timeout=5,
        retries=0,
        budget=10,
        monotonic=clock,
    )
    with pytest.raises(FhirError, match="budget"):
        list(client.search("Condition?patient=p"))
    assert len(responses.calls) == 3


@responses.activate
def test_per_request_timeout_never_exceeds_remaining_budget(monkeypatch):
    clock = FakeClock()
    seen: list[float] = []
    client = FhirClient(
        FHIR_BASE,
        access_token=None,
        permits=lambda url: True,
        timeout=5,
        retries=0,
        budget=2,
        monotonic=clock,
    )
    original = client._session.get

    def spy(url, **kwargs):
        seen.append(kwargs["timeout"])
        assert kwargs["allow_redirects"] is False
        return original(url, **kwargs)

    monkeypatch.setattr(client._session, "get", spy)
    responses.get(f"{FHIR_BASE}/Patient/p", json=patient())
    client.read("Patient/p")
    assert seen == [2]


def test_session_ignores_environment_proxies_and_netrc():
    client = FhirClient(
        FHIR_BASE, access_token=None, permits=lambda url: True, timeout=1, retries=0, budget=1
    )
    assert client._session.trust_env is False


def test_all_missing_searches_are_in_flight_at_once(client, captured_contexts):
    import threading

    active = 0
    peak = 0
    lock = threading.Lock()
    everyone = threading.Event()
    searches = len(full_prefetch())

    def slow_search(request):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
            if active >= searches:
                everyone.set()
        everyone.wait(timeout=2)  # hold each request until every search runs beside it
        with lock:
            active -= 1
        if "/Patient/" in request.url:
            return 200, {}, json.dumps(patient())
        return 200, {}, json.dumps(searchset())

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, re.compile(re.escape(FHIR_BASE) + "/.*"), callback=slow_search)
        response = post(client, hook_request(prefetch=None, fhirServer=FHIR_BASE, fhirAuthorization=auth()))
    assert response.status_code == 200
    assert peak == searches


def statements_referencing(*medication_ids: str) -> dict:
    return searchset(*(dict(medication_statement(f"Medication/{mid}"), id=f"ms-{mid}") for mid in medication_ids))


@responses.activate
def test_referenced_medications_are_read_in_one_search(client, captured_contexts):
    medications = [{"resourceType": "Medication", "id": mid, "code": {"text": "Revlimid"}} for mid in ("a", "b", "c")]
    responses.get(f"{FHIR_BASE}/Medication", json=searchset(*medications))
    prefetch = full_prefetch()
    prefetch["medicationStatements"] = statements_referencing("c", "a", "b")
    assert post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)).status_code == 200
    assert [call.request.url for call in responses.calls] == [medication_search("a", "b", "c")]
    assert {m["id"] for m in captured_contexts[0].index.of_type("Medication")} == {"a", "b", "c"}


@responses.activate
def test_medications_are_read_one_by_one_when_the_id_search_is_refused(client, captured_contexts):
    responses.get(f"{FHIR_BASE}/Medication", status=400)
    for mid in ("a", "b"):
        responses.get(f"{FHIR_BASE}/Medication/{mid}", json={"resourceType": "Medication", "id": mid})
    prefetch = full_prefetch()
    prefetch["medicationStatements"] = statements_referencing("a", "b")
    assert post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)).status_code == 200
    assert [call.request.url for call in responses.calls][1:] == [f"{FHIR_BASE}/Medication/a", f"{FHIR_BASE}/Medication/b"]
    assert {m["id"] for m in captured_contexts[0].index.of_type("Medication")} == {"a", "b"}


@responses.activate
def test_medications_referenced_by_fetched_pages_are_read_and_included_ones_are_not(client, captured_contexts):
    included = {"resourceType": "Medication", "id": "inc", "code": {"text": "Revlimid"}}
    page = statements_referencing("inc", "other")
    page["entry"].append({"resource": included, "search": {"mode": "include"}})
    responses.get(f"{FHIR_BASE}/MedicationStatement", json=page)
    responses.get(f"{FHIR_BASE}/Medication", json=searchset({"resourceType": "Medication", "id": "other"}))
    prefetch = full_prefetch()
    del prefetch["medicationStatements"]
    assert post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)).status_code == 200
    urls = [call.request.url for call in responses.calls]
    assert urls[0].startswith(f"{FHIR_BASE}/MedicationStatement?patient={PATIENT_ID}&_include=")
    assert urls[1:] == [medication_search("other")]


@responses.activate
def test_first_pages_ask_for_large_pages(client, captured_contexts):
    serve_everything(responses.mock)
    assert post(client, hook_request(prefetch=None, fhirServer=FHIR_BASE)).status_code == 200
    searches = [call.request.url for call in responses.calls if "?" in call.request.url]
    assert len(searches) == len(full_prefetch()) - 1
    assert all("_count=1000" in url for url in searches)


def test_the_page_size_is_a_setting(test_settings, fixed_clock):
    import dataclasses

    from cds_service.app import create_app

    client = create_app(dataclasses.replace(test_settings, prefetch_page_size=50), clock=fixed_clock).test_client()
    for service in client.get("/cds-services").get_json()["services"]:
        searches = [t for t in service["prefetch"].values() if "?" in t]
        assert searches and all(t.endswith("&_count=50") for t in searches)


@responses.activate
def test_connections_are_shared_between_calls_but_nothing_call_specific(client, captured_contexts):
    prefetch = full_prefetch()
    del prefetch["conditions"]
    responses.get(f"{FHIR_BASE}/Condition", json=searchset(), headers={"Set-Cookie": "affinity=patient-a; Path=/"})
    post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE, fhirAuthorization=auth("first")))
    post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE))
    first, second = responses.calls
    assert first.request.headers["Authorization"] == "Bearer first"
    assert "Authorization" not in second.request.headers
    assert "Cookie" not in second.request.headers
