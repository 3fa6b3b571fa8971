"""URL hygiene of outbound FHIR reads: what is checked is the normal form, and that is what is sent
(dot segments, percent-encoded dots), no fhirServer with a query string, no patient id that walks
the path, percent-encoded template values."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import responses

from cds_service import fhir_urls
from cds_service.app import create_app
from cds_service.fhir_client import FhirClient, FhirError
from cds_service.fhir_version import CAPABILITIES
from cds_service.security.allowlist import FhirAllowlist
from cds_service.services import render_template

ORIGIN = "http://127.0.0.1:9999"
BASE = f"{ORIGIN}/fhir"
TOKEN = "ssrf-token-41d9"
ALLOW = FhirAllowlist.from_setting("http://127.0.0.1", production=False)


@pytest.fixture(autouse=True)
def r4_base() -> Iterator[None]:
    CAPABILITIES.put(BASE, "4.0.1")
    yield
    CAPABILITIES.clear()


@pytest.fixture
def client(test_settings, fixed_clock):
    return create_app(test_settings, clock=fixed_clock).test_client()


def request(patient_id: str = "p1", *, prefetch: dict | None = None, fhir_server: str = BASE) -> dict:
    body = {
        "hook": "patient-view",
        "hookInstance": "0f1e2d3c-4b5a-4697-8899-aabbccddeeff",
        "context": {"userId": "Practitioner/x", "patientId": patient_id},
        "fhirServer": fhir_server,
        "fhirAuthorization": {"access_token": TOKEN, "token_type": "Bearer"},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def post(client, body):
    return client.post(
        "/cds-services/rrmm-relapse-guidance", data=json.dumps(body), content_type="application/json"
    )


def complete_prefetch_with_next(next_url: str) -> dict:
    from cds_service.services import PREFETCH

    prefetch: dict = {key: {"resourceType": "Bundle", "type": "searchset"} for key in PREFETCH}
    prefetch["patient"] = {"resourceType": "Patient", "id": "p1"}
    prefetch["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": next_url}],
    }
    return prefetch


@pytest.mark.parametrize(
    "next_url",
    [
        f"{BASE}/../../elsewhere",
        f"{BASE}/%2e%2e/elsewhere",
        f"{BASE}/.%2E/elsewhere",
        f"{BASE}/..%2Felsewhere",
    ],
)
@responses.activate
def test_a_next_link_escaping_the_base_path_gets_nothing(client, next_url: str) -> None:
    responses.get(f"{ORIGIN}/elsewhere", json={"resourceType": "Bundle", "type": "searchset"})
    response = post(client, request(prefetch=complete_prefetch_with_next(next_url)))
    assert response.status_code == 412
    assert len(responses.calls) == 0  # neither the token nor the patient id left for /elsewhere


@responses.activate
def test_a_next_link_with_harmless_dot_segments_is_sent_in_its_normal_form(client) -> None:
    responses.get(f"{BASE}/Condition", json={"resourceType": "Bundle", "type": "searchset"})
    response = post(client, request(prefetch=complete_prefetch_with_next(f"{BASE}/x/../Condition?page=2")))
    assert response.status_code == 200
    assert [call.request.url for call in responses.calls] == [f"{BASE}/Condition?page=2"]
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("server", [f"{BASE}?tenant=1", f"{BASE}/?", f"{BASE}#frag", f"{BASE}/%2F.."])
@responses.activate
def test_a_fhir_server_with_a_query_string_or_odd_path_is_refused(client, server: str) -> None:
    response = post(client, request(fhir_server=server))
    assert response.status_code == 412
    assert "fhirServer" in response.get_json()["issue"][0]["diagnostics"]
    assert len(responses.calls) == 0


@pytest.mark.parametrize("patient_id", [".", "..", "...."])
@responses.activate
def test_a_patient_id_of_dots_is_refused_before_any_read(client, patient_id: str) -> None:
    response = post(client, request(patient_id))
    assert response.status_code == 400
    assert "context.patientId" in response.get_json()["issue"][0]["diagnostics"]
    assert len(responses.calls) == 0


def test_template_values_are_percent_encoded() -> None:
    rendered = render_template("Condition?patient={{context.patientId}}&x=1", {"patientId": "a&b=c/../d e"})
    assert rendered == "Condition?patient=a%26b%3Dc%2F..%2Fd%20e&x=1"
    assert render_template("Patient/{{context.patientId}}", {"patientId": "../x"}) == "Patient/..%2Fx"


@pytest.mark.parametrize(
    ("url", "inside"),
    [
        (f"{BASE}/Patient/1", True),
        (f"{BASE}", True),
        (f"{BASE}/../fhir/Patient/1", True),
        (f"{BASE}/../fhir2/Patient/1", False),
        (f"{BASE}2/Patient", False),
        (f"{BASE}/./%2E%2E/x", False),
        ("HTTP://127.0.0.1:9999/fhir/Patient/1", True),
        ("http://127.0.0.1:9998/fhir/Patient/1", False),
    ],
)
def test_under_base_is_judged_on_the_normal_form(url: str, inside: bool) -> None:
    client = FhirClient(BASE, access_token=TOKEN, permits=ALLOW.permits, timeout=1, retries=0, budget=1)
    assert client.is_under_base(url) is inside


@responses.activate
def test_a_redirect_to_a_dot_segment_escape_is_not_followed() -> None:
    responses.get(f"{BASE}/Patient/p1", status=302, headers={"Location": "../../admin"})
    responses.get(f"{ORIGIN}/admin", json={"resourceType": "Patient"})
    client = FhirClient(BASE, access_token=TOKEN, permits=ALLOW.permits, timeout=1, retries=0, budget=1)
    with pytest.raises(FhirError):
        client.read("Patient/p1")
    assert [call.request.url for call in responses.calls] == [f"{BASE}/Patient/p1"]


def test_normal_form_decodes_unreserved_characters_only() -> None:
    assert fhir_urls.normalise("http://H:1/fhir/%7Ex/%41%2e/./b?q=%2e") == "http://h:1/fhir/~x/A./b?q=%2e"
    assert fhir_urls.normalise("http://h/fhir/a%2Fb") is None
    assert fhir_urls.normalise("ftp://h/fhir") is None
