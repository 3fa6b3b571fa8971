"""Every CLI misuse is one clear line on stderr (exit status 2), never a traceback; --version; lazy help."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service import cli
from cds_service.commands import serve
from cds_service.config import Settings


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_one_line(err: str, *mentions: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for mention in mentions:
        assert mention in lines[0], (mention, lines[0])


@pytest.fixture(autouse=True)
def _development(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RRMM_CDS_ENV", "DATABASE_URL", "DATABASE_URL_FILE", "RRMM_CDS_FHIR_ALLOWLIST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    # Handlers other tests in this process left on streams since closed would print "Logging
    # error" blocks into the stderr these tests read.
    import logging

    for name in (None, "alembic", "cds_service"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", [])


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        (["db", "upgrade", "--database-url", "notaurl"], ["not a database URL", "'notaurl'"]),
        (["report", "--database-url", "notaurl"], ["not a database URL"]),
        (["call", "-", "--date", "2026-13-01"], ["expected a date YYYY-MM-DD", "'2026-13-01'"]),
        (["fixtures", "request", "len-sensitive", "--date", "tomorrow"], ["expected a date YYYY-MM-DD"]),
        (["fixtures", "load", "--fhir-server", "http://x", "--date", "1/2/2026"], ["expected a date"]),
        (["nosuchcommand"], ["invalid choice", "'nosuchcommand'"]),
        ([], ["required: COMMAND"]),
    ],
)
def test_argument_errors_are_one_line(argv: list[str], mentions: list[str], capsys, monkeypatch) -> None:
    status, _out, err = run_cli(argv, capsys, monkeypatch)
    assert status == 2
    assert_one_line(err, *mentions)
    assert "fromisoformat" not in err


def test_db_upgrade_to_an_unknown_revision(tmp_path: Path, capsys, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    status, _out, err = run_cli(["db", "upgrade", "bogusrev", "--database-url", url], capsys, monkeypatch)
    assert status == 2
    assert_one_line(err, "unknown revision 'bogusrev'", "head")


def test_db_upgrade_does_not_create_a_missing_sqlite_directory(tmp_path: Path, capsys, monkeypatch) -> None:
    missing = tmp_path / "not-here"
    url = f"sqlite:///{missing / 'store.sqlite3'}"
    status, _out, err = run_cli(["db", "upgrade", "--database-url", url], capsys, monkeypatch)
    assert status == 2
    assert_one_line(err, str(missing), "does not exist")
    assert not missing.exists()


@pytest.mark.parametrize("action", [["db", "current"], ["db", "upgrade"], ["report"]])
def test_a_refused_postgresql_names_host_and_port_not_the_password(action, capsys, monkeypatch) -> None:
    port = closed_port()
    url = f"postgresql://cds:s3cret-pw@127.0.0.1:{port}/cds"
    status, _out, err = run_cli([*action, "--database-url", url], capsys, monkeypatch)
    assert status == 2
    assert_one_line(err, f"127.0.0.1:{port}", "connection refused")
    assert "s3cret-pw" not in err


def test_call_with_a_hook_nothing_serves(capsys, monkeypatch) -> None:
    request = json.dumps({"hook": "encounter-start", "hookInstance": "x", "context": {}})
    status, _out, err = run_cli(["call", "-"], capsys, monkeypatch, stdin=request)
    assert status == 2
    assert_one_line(err, "'encounter-start'", "patient-view (rrmm-relapse-guidance)")
    status, _out, err = run_cli(["call", "-", "--service", "nope"], capsys, monkeypatch, stdin=request)
    assert status == 2
    assert_one_line(err, "unknown service 'nope'", "rrmm-order-sign")


def test_bad_production_configuration_is_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setenv("RRMM_CDS_ENV", "production")
    status, _out, err = run_cli(["serve"], capsys, monkeypatch)
    assert status == 2
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("rrmm-cds: configuration error: production needs DATABASE_URL")


def test_version(capsys, monkeypatch) -> None:
    import importlib.metadata

    status, out, _err = run_cli(["--version"], capsys, monkeypatch)
    assert status == 0
    assert out.strip() == f"rrmm-cds {importlib.metadata.version('rrmm-cds')}"


def test_help_loads_no_clinical_code_and_lists_every_command() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from cds_service import cli\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):\n"
        "    cli.main(sys.argv[1:])\n"
        "heavy = [m for m in ('cds_service.pipeline', 'cds_service.handlers', 'sqlalchemy', 'gunicorn') if m in sys.modules]\n"
        "print(repr(heavy)); print(buf.getvalue())\n"
    )
    for argv in (["--help"], ["call", "--help"]):
        out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        heavy, _, text = out.partition("\n")
        assert heavy == "[]", (argv, heavy)
        if argv == ["--help"]:
            for command in ("call", "db", "fixtures", "kb", "report", "serve"):
                assert f"    {command} " in text, command


def test_start_up_line_names_the_preview_page_in_development() -> None:
    line = serve.start_up_line("127.0.0.1", 8123, Settings())
    assert "discovery: http://127.0.0.1:8123/cds-services" in line
    assert "preview: http://127.0.0.1:8123/" in line
    assert "preview" in serve.start_up_line("0.0.0.0", 8123, Settings()) and "127.0.0.1:8123" in line
    production = Settings(env="production", public_base_url="https://cds.example.org")
    assert "preview" not in serve.start_up_line("0.0.0.0", 8080, production)
