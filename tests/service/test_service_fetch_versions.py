"""FHIR versions: the fhirServer's capability statement (read once per server, cached) and
DSTU2/STU3 resources in prefetch (never indexed as if they were R4)."""

from __future__ import annotations

import json

import pytest
import responses
from service_requests import FHIR_BASE, PATIENT_ID, condition, full_prefetch, hook_request, searchset

from cds_service.fhir_version import CAPABILITIES, pre_r4_reason

METADATA = f"{FHIR_BASE}/metadata"


def post(client, body, service_id="rrmm-relapse-guidance"):
    return client.post(f"/cds-services/{service_id}", data=json.dumps(body), content_type="application/json")


def capability(version: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": version,
    }


def without_conditions() -> dict:
    prefetch = full_prefetch()
    del prefetch["conditions"]
    return prefetch


@pytest.fixture
def unknown_server():
    CAPABILITIES.clear()


@pytest.mark.usefixtures("unknown_server")
@pytest.mark.parametrize(
    ("version", "named"), [("3.0.2", "STU3 (3.0.2)"), ("1.0.2", "DSTU2 (1.0.2)"), ("5.0.0", "R5")]
)
@responses.activate
def test_a_server_declaring_another_fhir_version_is_refused(client, version, named):
    responses.get(METADATA, json=capability(version))
    responses.get(f"{FHIR_BASE}/Condition", json=searchset())
    response = post(client, hook_request(prefetch=without_conditions(), fhirServer=FHIR_BASE))
    assert response.status_code == 412
    issue = response.get_json()["issue"][0]
    assert issue["code"] == "not-supported"
    assert named in issue["diagnostics"] and "R4" in issue["diagnostics"]


@pytest.mark.usefixtures("unknown_server")
@responses.activate
def test_metadata_is_read_once_per_server(client, captured_contexts):
    responses.get(METADATA, json=capability("4.0.1"))
    responses.get(f"{FHIR_BASE}/Condition", json=searchset(condition("c1")))
    for _ in range(3):
        assert (
            post(client, hook_request(prefetch=without_conditions(), fhirServer=FHIR_BASE)).status_code == 200
        )
    paths = [call.request.url.split("?")[0] for call in responses.calls]
    assert paths.count(METADATA) == 1
    assert paths.count(f"{FHIR_BASE}/Condition") == 3


@pytest.mark.usefixtures("unknown_server")
@responses.activate
def test_a_refused_version_is_remembered_too(client):
    responses.get(METADATA, json=capability("3.0.1"))
    responses.get(f"{FHIR_BASE}/Condition", json=searchset())
    for _ in range(2):
        assert (
            post(client, hook_request(prefetch=without_conditions(), fhirServer=FHIR_BASE)).status_code == 412
        )
    # The second call is refused from the cache, before any patient search is sent.
    assert [call.request.url.split("?")[0] for call in responses.calls].count(f"{FHIR_BASE}/Condition") == 1


@pytest.mark.usefixtures("unknown_server")
@pytest.mark.parametrize(
    "answer", [{"status": 404}, {"status": 401}, {"body": "<html>"}, {"json": {"resourceType": "Patient"}}]
)
@responses.activate
def test_a_server_without_readable_metadata_is_used(client, captured_contexts, answer):
    responses.get(METADATA, **answer)
    responses.get(f"{FHIR_BASE}/Condition", json=searchset(condition("c1")))
    assert post(client, hook_request(prefetch=without_conditions(), fhirServer=FHIR_BASE)).status_code == 200
    assert captured_contexts[0].index.get("Condition", "c1") is not None


@pytest.mark.usefixtures("unknown_server")
@responses.activate
def test_metadata_is_fetched_beside_the_searches_with_the_token(client, captured_contexts):
    responses.get(METADATA, json=capability("4.0.1"))
    responses.get(f"{FHIR_BASE}/Condition", json=searchset())
    body = hook_request(
        prefetch=without_conditions(),
        fhirServer=FHIR_BASE,
        fhirAuthorization={"access_token": "tok-1", "token_type": "Bearer"},
    )
    assert post(client, body).status_code == 200
    assert all(call.request.headers["Authorization"] == "Bearer tok-1" for call in responses.calls)


def dstu2_condition() -> dict:
    return {
        "resourceType": "Condition",
        "id": "old",
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"text": "Multiple myeloma"},
        "clinicalStatus": "active",
        "verificationStatus": "confirmed",
    }


def test_dstu2_conditions_without_a_server_are_412_not_misread(client):
    prefetch = full_prefetch()
    prefetch["conditions"] = searchset(dstu2_condition())
    response = post(client, hook_request(prefetch=prefetch))
    assert response.status_code == 412
    assert "FHIR DSTU2/STU3 data" in response.get_json()["issue"][0]["diagnostics"]


def test_stu3_optional_key_is_reported_and_not_indexed(client, captured_contexts):
    prefetch = full_prefetch()
    prefetch["procedures"] = searchset(
        {
            "resourceType": "Procedure",
            "id": "stu3",
            "notDone": False,
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "status": "completed",
        }
    )
    assert post(client, hook_request(prefetch=prefetch)).status_code == 200
    ctx = captured_contexts[0]
    assert ctx.index.get("Procedure", "stu3") is None
    assert [(s.key, s.reason) for s in ctx.unavailable_sources] == [
        ("procedures", "FHIR DSTU2/STU3 data, no fhirServer")
    ]


@responses.activate
def test_dstu2_prefetch_is_read_again_from_an_r4_server(client, captured_contexts):
    responses.get(f"{FHIR_BASE}/Condition", json=searchset(condition("r4")))
    prefetch = full_prefetch()
    prefetch["conditions"] = searchset(dstu2_condition())
    assert post(client, hook_request(prefetch=prefetch, fhirServer=FHIR_BASE)).status_code == 200
    index = captured_contexts[0].index
    assert index.get("Condition", "r4") is not None and index.get("Condition", "old") is None


def test_dstu2_medication_order_in_an_extra_key_is_not_indexed(client, captured_contexts):
    prefetch = full_prefetch()
    prefetch["legacyOrders"] = searchset({"resourceType": "MedicationOrder", "id": "mo1"})
    assert post(client, hook_request(prefetch=prefetch)).status_code == 200
    assert not captured_contexts[0].index.has_type("MedicationOrder")


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "MedicationOrder"},
        {"resourceType": "Condition", "clinicalStatus": "active"},
        {"resourceType": "MedicationStatement", "taken": "y"},
        {"resourceType": "MedicationAdministration", "effectiveTimeDateTime": "2015-01-01"},
        {"resourceType": "Observation", "context": {"reference": "Encounter/e"}},
    ],
)
def test_pre_r4_shapes_are_recognised(resource):
    assert pre_r4_reason(resource)


@pytest.mark.parametrize(
    "resource",
    [
        condition("c1"),
        {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]}},
        {"resourceType": "MedicationAdministration", "context": {"reference": "Encounter/e"}},
        {"resourceType": "MedicationRequest", "category": [{"text": "outpatient"}]},
    ],
)
def test_r4_resources_are_not_flagged(resource):
    assert pre_r4_reason(resource) is None


def test_dstu2_resources_in_an_extra_prefetch_key_are_reported_not_dropped(client):
    prefetch = full_prefetch()
    prefetch["conditions"] = searchset(condition("mm", "Multiple myeloma"))
    prefetch["legacyOrders"] = searchset({"resourceType": "MedicationOrder", "id": "mo-1", "status": "active",
                                          "patient": {"reference": f"Patient/{PATIENT_ID}"},
                                          "medicationCodeableConcept": {"text": "Revlimid 10 mg"}})
    response = post(client, hook_request(prefetch=prefetch))
    assert response.status_code == 200
    details = "\n".join(card["detail"] for card in response.get_json()["cards"])
    assert "MedicationOrder resources in FHIR DSTU2/STU3 format were not read" in details
