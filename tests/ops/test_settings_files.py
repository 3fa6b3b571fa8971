"""Secrets as files (``NAME_FILE``, a mounted Secret) and production's refusal of SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.config import ConfigError, Settings

POSTGRES = "postgresql+psycopg://cds:secret@db.internal:5432/cds"


def test_any_setting_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "database-url").write_text(POSTGRES + "\n")
    (tmp_path / "audit-salt").write_text("s" * 40)
    settings = Settings.from_env({
        "RRMM_CDS_ENV": "production",
        "DATABASE_URL_FILE": str(tmp_path / "database-url"),
        "RRMM_CDS_AUDIT_SALT_FILE": str(tmp_path / "audit-salt"),
    })
    assert settings.database_url == POSTGRES  # the trailing newline of the file is not part of it
    assert settings.audit_salt == "s" * 40


def test_a_value_and_a_file_for_one_setting_is_refused(tmp_path: Path) -> None:
    (tmp_path / "url").write_text(POSTGRES)
    with pytest.raises(ConfigError, match="DATABASE_URL or DATABASE_URL_FILE, not both"):
        Settings.from_env({"DATABASE_URL": POSTGRES, "DATABASE_URL_FILE": str(tmp_path / "url")})


def test_an_unreadable_file_names_the_setting_and_path_not_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match=r"RRMM_CDS_AUDIT_SALT_FILE: cannot read .*nope: No such file"):
        Settings.from_env({"RRMM_CDS_AUDIT_SALT_FILE": str(missing)})


@pytest.mark.parametrize(
    ("environ", "mentions"),
    [
        ({}, "production needs DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "got 'sqlite'"),
        ({"DATABASE_URL": "notaurl"}, "not a URL"),
    ],
)
def test_production_refuses_sqlite(environ: dict[str, str], mentions: str) -> None:
    with pytest.raises(ConfigError, match=mentions):
        Settings.from_env({"RRMM_CDS_ENV": "production", **environ})


def test_production_accepts_postgresql_and_development_keeps_sqlite() -> None:
    assert Settings.from_env({"RRMM_CDS_ENV": "production", "DATABASE_URL": POSTGRES}).database_url == POSTGRES
    assert Settings.from_env({}).database_url.startswith("sqlite:///")
