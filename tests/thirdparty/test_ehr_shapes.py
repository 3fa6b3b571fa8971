"""The sample personas re-encoded the way two large EHRs send them give the same cards.

- **Epic shape**: medications only by reference (a contained Medication on orders and
  administrations, a referenced Medication returned with the search on statements and
  dispenses), Epic-internal codings next to the standard ones, ICD-10-CM/SNOMED given by OID, and
  the call signed with an RS384 JWT carrying Epic's registered claims (iss = the organisation's
  FHIR base, sub = the client id, aud = the service URL, nbf, jti, a ``jku`` header).
- **Oracle Health shape**: its proprietary coding systems (``https://fhir.cerner.com/<tenant>/
  codeSet/...``, ``.../nomenclature``, ``.../synonym``) before the standard codings, and every
  search prefetched as a first page of two entries with ``next`` links the service must follow on
  ``fhirServer``.

Cards are compared after removing their random ``uuid``s."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import re
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import responses as responses_lib
from security.jwt_helpers import BASE_URL, ClientKeys

from cds_service import samples
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.fhir_version import CAPABILITIES
from cds_service.services import SERVICES

TODAY = date(2026, 3, 15)  # the day of tests/conftest.py fixed_clock (checked below)
EPIC_ISS = "https://fhir.epic.example.org/interconnect-fhir-oauth/api/FHIR/R4"
EPIC_JWKS = f"{EPIC_ISS}/jwks"
EPIC_CLIENT = "6b3a4c2e-epic-client-id"
ORACLE_BASE = "http://127.0.0.1:9998/fhir/r4/ec2458f2-tenant"
ORACLE_TENANT = "https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d"
HOOKS = ("patient-view", "order-sign")
SERVICE_OF = {service.hook: service_id for service_id, service in SERVICES.items()}
PERSONAS = [p.id for p in samples.personas()]
_MEDICATION_TYPES = ("MedicationStatement", "MedicationRequest", "MedicationAdministration", "MedicationDispense")


def _without_uuids(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_uuids(v) for k, v in node.items() if k != "uuid"}
    if isinstance(node, list):
        return [_without_uuids(v) for v in node]
    return node


@pytest.fixture(autouse=True)
def _same_day_as_the_app(fixed_clock):
    assert fixed_clock().date() == TODAY


def _request(persona_id: str, hook: str) -> dict[str, Any]:
    persona = samples.persona(persona_id)
    templates = SERVICES[SERVICE_OF[hook]].prefetch
    return samples.hook_request(persona, hook, TODAY, prefetch_templates=templates)


def _cards(client, hook: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{SERVICE_OF[hook]}", data=json.dumps(body),
                           content_type="application/json", headers=headers or {})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return _without_uuids(response.get_json()["cards"])


def _entries(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        return [e for e in value.get("entry") or () if isinstance(e, dict)]
    return []


def _prepend(concept: Any, coding: dict[str, Any]) -> None:
    if isinstance(concept, dict):
        concept["coding"] = [coding, *(concept.get("coding") or ())]


# -- Epic -------------------------------------------------------------------------------------------
_EPIC_SYSTEMS = {"http://hl7.org/fhir/sid/icd-10-cm": "urn:oid:2.16.840.1.113883.6.90",
                 "http://snomed.info/sct": "urn:oid:2.16.840.1.113883.6.96"}


def epic_shape(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    numbers = itertools.count(1)
    for value in body.get("prefetch", {}).values():
        included: list[dict[str, Any]] = []
        for entry in _entries(value):
            resource = entry.get("resource") or {}
            rtype = resource.get("resourceType")
            if rtype == "Condition":
                for coding in (resource.get("code") or {}).get("coding") or ():
                    coding["system"] = _EPIC_SYSTEMS.get(coding.get("system"), coding.get("system"))
                _prepend(resource.get("code"), {"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.696871",
                                                "code": f"{next(numbers)}", "display": "EPIC DX"})
            elif rtype == "Observation":
                _prepend(resource.get("code"), {"system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14",
                                                "code": f"{next(numbers)}"})
            elif rtype in _MEDICATION_TYPES and "medicationCodeableConcept" in resource:
                concept = resource.pop("medicationCodeableConcept")
                medication = {"resourceType": "Medication", "id": f"epic-med-{next(numbers)}", "code": concept}
                if rtype in ("MedicationRequest", "MedicationAdministration"):
                    resource["contained"] = [*(resource.get("contained") or ()), {**medication, "id": "med"}]
                    resource["medicationReference"] = {"reference": "#med", "display": concept.get("text", "")}
                else:
                    included.append({"resource": medication, "search": {"mode": "include"}})
                    resource["medicationReference"] = {"reference": f"Medication/{medication['id']}"}
        if included:
            value["entry"] = [*value["entry"], *included]
    return body


@pytest.fixture(scope="module")
def epic_keys() -> ClientKeys:
    return ClientKeys()


@pytest.fixture
def epic_client(tmp_path: Path, epic_keys: ClientKeys, fixed_clock):
    # Epic publishes its keys at a JWKS URL the token's jku names; pinned to a local copy here.
    jwks = tmp_path / "epic-jwks.json"
    jwks.write_text(json.dumps(epic_keys.jwks()))
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({EPIC_ISS: {"jwks_url": EPIC_JWKS, "jku": [EPIC_JWKS],
                                              "pinned_jwks_file": str(jwks)}}))
    settings = dataclasses.replace(Settings(database_url=f"sqlite:///{tmp_path / 'store.sqlite3'}"),
                                   auth="required", public_base_url=BASE_URL, trusted_issuers=str(issuers))
    return create_app(settings, clock=fixed_clock).test_client()


def _epic_token(keys: ClientKeys, hook: str) -> str:
    audience = f"{BASE_URL}/cds-services/{SERVICE_OF[hook]}"
    now = int(time.time())  # the verifier reads the wall clock
    claims = {"iss": EPIC_ISS, "sub": EPIC_CLIENT, "iat": now, "nbf": now - 5, "exp": now + 300}
    return keys.token(audience, "RS384", claims=claims, header={"jku": EPIC_JWKS})


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("persona_id", PERSONAS)
def test_epic_shape_gives_the_same_cards(persona_id, hook, client, epic_client, epic_keys):
    original = _request(persona_id, hook)
    expected = _cards(client, hook, original)
    epic = epic_shape(original)
    assert "medicationCodeableConcept" not in json.dumps(epic.get("prefetch"))
    got = _cards(epic_client, hook, epic, {"Authorization": f"Bearer {_epic_token(epic_keys, hook)}"})
    assert got == expected


def test_epic_requests_without_a_valid_token_are_refused(epic_client, epic_keys):
    body = epic_shape(_request("len-sensitive", "patient-view"))
    response = epic_client.post("/cds-services/rrmm-relapse-guidance", data=json.dumps(body),
                                content_type="application/json")
    assert response.status_code == 401
    now = int(time.time())
    wrong_audience = epic_keys.token(f"{BASE_URL}/cds-services/other", "RS384",
                                     claims={"iss": EPIC_ISS, "iat": now, "exp": now + 300})
    response = epic_client.post("/cds-services/rrmm-relapse-guidance", data=json.dumps(body),
                                content_type="application/json", headers={"Authorization": f"Bearer {wrong_audience}"})
    assert response.status_code == 401


# -- Oracle Health ----------------------------------------------------------------------------------
_PAGE = 2


def oracle_shape(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The request with proprietary codings and first pages only, and the pages the server holds."""
    body = copy.deepcopy(body)
    numbers = itertools.count(1)
    pages: dict[str, list[dict[str, Any]]] = {}
    for key, value in body.get("prefetch", {}).items():
        entries = _entries(value)
        for entry in entries:
            resource = entry.get("resource") or {}
            rtype = resource.get("resourceType")
            if rtype == "Observation":
                _prepend(resource.get("code"), {"system": f"{ORACLE_TENANT}/codeSet/72", "code": f"{next(numbers)}",
                                                "userSelected": True})
            elif rtype == "Condition":
                _prepend(resource.get("code"), {"system": f"{ORACLE_TENANT}/nomenclature",
                                                "code": f"{next(numbers)}"})
            elif rtype in _MEDICATION_TYPES:
                _prepend(resource.get("medicationCodeableConcept"), {"system": f"{ORACLE_TENANT}/synonym",
                                                                     "code": f"{next(numbers)}"})
        if len(entries) <= _PAGE:
            continue
        chunks = [entries[i:i + _PAGE] for i in range(0, len(entries), _PAGE)]
        pages[key] = [{"resourceType": "Bundle", "type": "searchset", "entry": chunk} for chunk in chunks]
        for number, page in enumerate(pages[key]):
            if number + 1 < len(chunks):
                page["link"] = [{"relation": "next",
                                 "url": f"{ORACLE_BASE}/{key}-pages?page={number + 1}&_count={_PAGE}"}]
        body["prefetch"][key] = pages[key][0]
    body["fhirServer"] = ORACLE_BASE
    body["fhirAuthorization"] = {"access_token": "oracle-token", "token_type": "Bearer", "expires_in": 570,
                                 "scope": "user/Patient.read user/Observation.read", "subject": "oracle-client"}
    return body, pages


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("persona_id", PERSONAS)
def test_oracle_health_shape_gives_the_same_cards(persona_id, hook, client):
    original = _request(persona_id, hook)
    expected = _cards(client, hook, original)
    oracle, pages = oracle_shape(original)
    CAPABILITIES.put(ORACLE_BASE, "4.0.1")
    served: list[str] = []

    def page(request):
        url = urlparse(request.url)
        key = url.path.rsplit("/", 1)[-1].removesuffix("-pages")
        served.append(key)
        number = int(parse_qs(url.query)["page"][0])
        return 200, {"Content-Type": "application/fhir+json"}, json.dumps(pages[key][number])

    medications = {r["id"]: r for value in original["prefetch"].values() for e in _entries(value)
                   if (r := e.get("resource") or {}).get("resourceType") == "Medication"}

    def medication(request):  # Medication/<id> or Medication?_id=a,b (a referenced one on a later page)
        url = urlparse(request.url)
        wanted = ([url.path.rsplit("/", 1)[-1]] if not url.path.endswith("/Medication")
                  else parse_qs(url.query).get("_id", [""])[0].split(","))
        found = [medications[i] for i in wanted if i in medications]
        if not url.path.endswith("/Medication"):
            return (200, {}, json.dumps(found[0])) if found else (404, {}, "{}")
        return 200, {}, json.dumps({"resourceType": "Bundle", "type": "searchset",
                                    "entry": [{"resource": m} for m in found]})

    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses_lib.GET, re.compile(rf"{re.escape(ORACLE_BASE)}/[A-Za-z]+-pages"),
                          callback=page)
        mock.add_callback(responses_lib.GET, re.compile(rf"{re.escape(ORACLE_BASE)}/Medication(/[^/?]+)?"),
                          callback=medication)
        got = _cards(client, hook, oracle)
    assert got == expected
    if any(len(p) > 1 for p in pages.values()):
        assert served  # the rest of the record came from the next links
