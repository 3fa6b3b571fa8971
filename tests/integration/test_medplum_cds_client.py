"""Medplum's own CDS Hooks client (``buildCdsRequest`` of @medplum/core) against the service.

The client fills prefetch itself from a Medplum FHIR server whose default page is 20 entries,
taking the first page of each template's search and sending no fhirServer. Only because the
templates ask for large pages (``_count``) and the referenced Medications (``_include``) does that
first page hold everything: every persona must get the cards its catalog entry promises, on
every hook, and no key may arrive paginated.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cds_service import samples
from cds_service.cli import main as rrmm_cds
from cds_service.samples.expectations import problems
from integration import servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICE_FOR_HOOK = {"patient-view": "rrmm-relapse-guidance", "order-select": "rrmm-order-select",
                    "order-sign": "rrmm-order-sign"}
MEDPLUM_DEFAULT_PAGE = 20


@pytest.fixture(scope="module")
def medplum_default_paging() -> Iterator[servers.FhirServer]:
    """A Medplum engine with its own paging (20 per page unless _count says otherwise), loaded."""
    with servers.medplum_or_skip(default_page_size=MEDPLUM_DEFAULT_PAGE) as fhir:
        assert rrmm_cds(["fixtures", "load", "--fhir-server", fhir.base_url, "--token", fhir.token]) == 0
        yield fhir


@pytest.fixture(scope="module")
def client_results(medplum_default_paging: servers.FhirServer, service: str, tmp_path_factory) -> dict[str, dict]:
    today = samples.utc_today()
    jobs = [
        {"id": f"{persona.id}/{hook}", "serviceId": SERVICE_FOR_HOOK[hook],
         "context": samples.hook_request(persona, hook, today)["context"]}
        for persona in samples.personas()
        for hook in SERVICE_FOR_HOOK
    ]
    jobs_file = Path(tmp_path_factory.mktemp("medplum-client")) / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    origin = medplum_default_paging.base_url.rsplit("/fhir", 1)[0]
    completed = subprocess.run(
        [str(servers.NODE_BIN), "cds_client.mjs", "--fhir-origin", origin, "--token", medplum_default_paging.token,
         "--service", service, "--jobs", str(jobs_file)],
        cwd=servers.MEDPLUM_DIR, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {result["id"]: result for result in json.loads(completed.stdout)}


def test_the_server_really_pages_at_20_without_count(medplum_default_paging: servers.FhirServer) -> None:
    persona = samples.persona("penta-refractory")  # 168 administrations
    page = medplum_default_paging.search(f"MedicationAdministration?patient={persona.patient_id}")
    assert len(page["entry"]) == MEDPLUM_DEFAULT_PAGE
    assert any(link["relation"] == "next" for link in page["link"])


@pytest.mark.parametrize("hook", list(SERVICE_FOR_HOOK))
@pytest.mark.parametrize("persona", samples.personas(), ids=lambda p: p.id)
def test_medplum_filled_prefetch_gives_the_expected_cards(client_results: dict[str, dict],
                                                         persona: samples.Persona, hook: str) -> None:
    result = client_results[f"{persona.id}/{hook}"]
    assert result["status"] == 200, result["body"]
    paginated = [key for key, shape in result["prefetch"].items() if shape and shape["next"]]
    assert paginated == []
    expected = persona.expect["patient-view" if hook == "patient-view" else "order-sign"]
    assert problems(result["body"]["cards"], expected) == []
