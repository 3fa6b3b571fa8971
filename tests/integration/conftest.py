"""Session-wide real processes for the Medplum integration tests (see ``servers.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cds_service.cli import main as rrmm_cds
from integration import servers

# Small enough that every persona's Observations span several pages: the service must follow
# Bundle.link[next] to see the whole chart.
PAGE_SIZE = 25


@pytest.fixture(scope="session")
def medplum() -> Iterator[servers.FhirServer]:
    with servers.medplum_or_skip(max_page_size=PAGE_SIZE) as fhir:
        yield fhir


@pytest.fixture(scope="session")
def loaded_medplum(medplum: servers.FhirServer) -> servers.FhirServer:
    """Medplum holding every sample persona, loaded the way an integrator would."""
    assert rrmm_cds(["fixtures", "load", "--fhir-server", medplum.base_url, "--token", medplum.token]) == 0
    return medplum


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with servers.start_service(Path(tmp_path_factory.mktemp("service"))) as base_url:
        yield base_url
