"""Fixtures for the third-party data tests: the npm packages (skip when unavailable), an app."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from security.jwt_helpers import BASE_URL

from cds_service.app import create_app
from cds_service.fhir_version import CAPABILITIES
from thirdparty import packages


def _package(spec: tuple[str, str]) -> list[tuple[str, dict[str, Any]]]:
    try:
        folder: Path = packages.package_dir(*spec)
    except packages.Unavailable as exc:
        pytest.skip(f"{spec[0]}@{spec[1]} not available: {exc}")
    return list(packages.resources(folder))


@pytest.fixture(scope="session")
def r4_examples() -> list[tuple[str, dict[str, Any]]]:
    return _package(packages.R4_EXAMPLES)


@pytest.fixture(scope="session")
def mcode_examples() -> list[tuple[str, dict[str, Any]]]:
    return _package(packages.MCODE)


@pytest.fixture
def client(test_settings, fixed_clock):
    # The public base URL the signed (Epic-shape) app uses too: card links are built from it.
    settings = dataclasses.replace(test_settings, public_base_url=BASE_URL)
    CAPABILITIES.clear()
    yield create_app(settings, clock=fixed_clock).test_client()
    CAPABILITIES.clear()
