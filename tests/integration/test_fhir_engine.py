"""The service against a real FHIR server: Medplum's engine holding the sample personas.

No prefetch is sent: the service reads everything from ``fhirServer`` with the bearer token
(which the Medplum wrapper checks), following paging links, and must still give each persona the
cards its catalog entry promises.
"""

from __future__ import annotations

import pytest
import requests

from cds_service import samples
from cds_service.cli import main as rrmm_cds
from cds_service.samples.expectations import problems
from integration.servers import FhirServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICE_FOR_HOOK = {"patient-view": "rrmm-relapse-guidance", "order-select": "rrmm-order-select",
                    "order-sign": "rrmm-order-sign"}
PERSONAS = samples.personas()


def _call(service: str, fhir: FhirServer, persona: samples.Persona, hook: str, token: str | None = None):
    body = samples.hook_request(persona, hook, samples.utc_today(), fhir_server=fhir.base_url,
                                fhir_token=token or fhir.token)
    return requests.post(f"{service}/cds-services/{SERVICE_FOR_HOOK[hook]}", json=body, timeout=60)


def test_fixtures_load_is_idempotent(loaded_medplum: FhirServer) -> None:
    persona = samples.persona("frail-elderly")
    query = f"Observation?patient={persona.patient_id}&_summary=count"
    before = loaded_medplum.search(query)["total"]
    assert rrmm_cds(["fixtures", "load", "--fhir-server", loaded_medplum.base_url, "--token",
                     loaded_medplum.token, "--only", persona.id]) == 0
    after = loaded_medplum.search(query)["total"]
    expected = sum(1 for r in samples.resources(persona, samples.utc_today()) if r["resourceType"] == "Observation")
    assert before == after == expected


def test_fixtures_load_refuses_a_wrong_token(medplum: FhirServer, capsys: pytest.CaptureFixture[str]) -> None:
    status = rrmm_cds(["fixtures", "load", "--fhir-server", medplum.base_url, "--token", "not-the-token",
                       "--only", "no-myeloma"])
    assert status == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "not-the-token" not in err


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.id)
def test_patient_view_fetches_the_chart_itself(service: str, loaded_medplum: FhirServer,
                                               persona: samples.Persona) -> None:
    loaded_medplum.request_log()  # clear
    response = _call(service, loaded_medplum, persona, "patient-view")
    assert response.status_code == 200, response.text
    served = loaded_medplum.request_log()
    assert any(r["path"] == "/Observation" for r in served), "the service never searched Observations"
    assert problems(response.json()["cards"], persona.expect["patient-view"]) == []


def test_the_service_follows_paging_links(service: str, loaded_medplum: FhirServer) -> None:
    persona = samples.persona("penta-refractory")  # hundreds of administrations and observations
    loaded_medplum.request_log()
    response = _call(service, loaded_medplum, persona, "patient-view")
    assert response.status_code == 200, response.text
    pages = [r for r in loaded_medplum.request_log() if "_offset=" in r["query"]]
    assert pages, "no second page was requested"
    assert problems(response.json()["cards"], persona.expect["patient-view"]) == []


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.id)
def test_order_hooks_check_the_drafted_regimen(service: str, loaded_medplum: FhirServer,
                                               persona: samples.Persona, hook: str) -> None:
    response = _call(service, loaded_medplum, persona, hook)
    assert response.status_code == 200, response.text
    # Every persona's draft selects all of its orders, so both hooks judge the same orders.
    assert problems(response.json()["cards"], persona.expect["order-sign"]) == []


def test_a_rejected_token_is_a_clear_4xx_not_cards(service: str, loaded_medplum: FhirServer) -> None:
    response = _call(service, loaded_medplum, samples.persona("len-refractory"), "patient-view",
                     token="expired-or-wrong")
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_the_service_reads_referenced_medications_and_reports(service: str, loaded_medplum: FhirServer) -> None:
    persona = samples.persona("len-refractory")  # Revlimid fills point at a Medication resource
    loaded_medplum.request_log()
    response = _call(service, loaded_medplum, persona, "patient-view")
    assert response.status_code == 200, response.text
    served = loaded_medplum.request_log()
    paths = {r["path"] for r in served}
    # The medication searches ask for the referenced Medications (_include): none is read alone.
    assert any("_include=MedicationDispense%3Amedication" in r["query"] or "_include=MedicationDispense:medication"
               in r["query"] for r in served)
    assert not any(path.startswith("/Medication/") for path in paths)
    assert "/DiagnosticReport" in paths  # the FISH narrative that makes her high-risk
    assert problems(response.json()["cards"], persona.expect["patient-view"]) == []
