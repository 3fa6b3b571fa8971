"""A bad production configuration stops the service once, with one clear line and exit status 2:
no traceback, no worker started (before: a traceback from every worker, and production started
without an audit salt, which let an MRN-like patient id be recovered from its audit hash)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .servers import BIN, REPO, free_port, service_env

pytestmark = pytest.mark.integration

SALT = "x" * 32


def _production_env(tmp_path: Path, **changes: str) -> dict[str, str]:
    env = service_env(
        tmp_path,
        RRMM_CDS_ENV="production",
        RRMM_CDS_AUDIT_SALT=SALT,
        DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        RRMM_CDS_PUBLIC_BASE_URL="https://cds.example.org",
        RRMM_CDS_TRUSTED_ISSUERS=str(tmp_path / "issuers.json"),
        RRMM_CDS_FHIR_ALLOWLIST="https://fhir.example.org",
    )
    env.update(changes)
    return {key: value for key, value in env.items() if value != ""}


CASES = [
    ({"RRMM_CDS_AUDIT_SALT": ""}, "RRMM_CDS_AUDIT_SALT"),
    ({"RRMM_CDS_AUDIT_SALT": "short-salt"}, "RRMM_CDS_AUDIT_SALT"),
    ({"DATABASE_URL": "sqlite:///x.sqlite3"}, "DATABASE_URL"),
    ({"RRMM_CDS_PREVIEW": "on"}, "RRMM_CDS_PREVIEW"),
    ({"RRMM_CDS_FHIR_ALLOWLIST": "http://fhir.example.org"}, "RRMM_CDS_FHIR_ALLOWLIST"),
]


def _check(result: subprocess.CompletedProcess[str], mentions: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if "configuration error" in line]
    assert len(errors) == 1 and mentions in errors[0], output[-2000:]
    assert "Booting worker" not in output


@pytest.mark.parametrize(("changes", "mentions"), CASES)
def test_gunicorn_refuses_once_without_traceback(tmp_path: Path, changes: dict[str, str], mentions: str) -> None:
    env = _production_env(tmp_path, **changes, RRMM_CDS_BIND=f"127.0.0.1:{free_port()}", GUNICORN_WORKERS="3")
    result = subprocess.run(
        [str(BIN / "gunicorn"), "-c", str(REPO / "deploy" / "gunicorn.conf.py"), "cds_service.app:create_app()"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    _check(result, mentions)


@pytest.mark.parametrize(("changes", "mentions"), CASES[:2])
def test_serve_refuses_once_without_traceback(tmp_path: Path, changes: dict[str, str], mentions: str) -> None:
    result = subprocess.run(
        [str(BIN / "rrmm-cds"), "serve", "--port", str(free_port()), "--proxy", "off"],
        env=_production_env(tmp_path, **changes), cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )
    _check(result, mentions)
