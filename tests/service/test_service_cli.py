"""The console command: subcommand discovery, ``call`` offline, ``serve`` options."""

from __future__ import annotations

import argparse
import io
import json

import pytest
from helpers import assert_operation_outcome, assert_valid_cds_response
from service_requests import hook_request

from cds_service import cli
from cds_service.commands import serve
from cds_service.config import Settings


@pytest.fixture(autouse=True)
def private_store(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.chdir(tmp_path)


def test_subcommands_are_discovered():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"serve", "call"} <= set(subparsers.choices)


def test_call_file_prints_response(tmp_path, capsys, captured_contexts):
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(hook_request()))
    assert cli.main(["call", str(request_file)]) == 0
    assert_valid_cds_response(json.loads(capsys.readouterr().out))
    assert captured_contexts[0].service_id == "rrmm-relapse-guidance"


def test_call_stdin_with_explicit_service_and_date(monkeypatch, capsys, captured_contexts):
    monkeypatch.setattr(
        "sys.stdin", io.TextIOWrapper(io.BytesIO(json.dumps(hook_request("rrmm-order-sign")).encode()))
    )
    assert cli.main(["call", "-", "--service", "rrmm-order-sign", "--date", "2025-01-02"]) == 0
    assert json.loads(capsys.readouterr().out) == {"cards": []}
    assert str(captured_contexts[0].evaluation_date) == "2025-01-02"


def test_call_default_service_follows_the_hook(tmp_path, capsys, captured_contexts):
    request_file = tmp_path / "r.json"
    request_file.write_text(json.dumps(hook_request("rrmm-order-select")))
    assert cli.main(["call", str(request_file)]) == 0
    assert captured_contexts[0].service_id == "rrmm-order-select"


def test_call_refusal_prints_operation_outcome(tmp_path, capsys):
    request_file = tmp_path / "r.json"
    request_file.write_text(json.dumps(hook_request(prefetch=None)))
    assert cli.main(["call", str(request_file)]) == 1
    captured = capsys.readouterr()
    assert_operation_outcome(json.loads(captured.out))
    assert "412" in captured.err


def test_call_unknown_hook_needs_service(tmp_path, capsys):
    request_file = tmp_path / "r.json"
    request_file.write_text(json.dumps({"hook": "encounter-start"}))
    assert cli.main(["call", str(request_file)]) == 2


def test_call_missing_file(capsys):
    assert cli.main(["call", "/nonexistent/request.json"]) == 1


def test_configuration_error_is_reported(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RRMM_CDS_ENV", "staging")
    request_file = tmp_path / "r.json"
    request_file.write_text(json.dumps(hook_request()))
    assert cli.main(["call", str(request_file)]) == 2
    assert "RRMM_CDS_ENV" in capsys.readouterr().err


def test_serve_options_and_discovery_url():
    args = argparse.Namespace(host="127.0.0.1", port=8123, workers=2, threads=4)
    settings = Settings()
    options = serve.gunicorn_options(args, settings)
    assert options["bind"] == "127.0.0.1:8123"
    assert options["worker_class"].endswith("DeadlineThreadWorker")  # gthread with header deadlines
    assert options["timeout"] > settings.fetch_budget
    assert options["control_socket_disable"] is True  # no shared ~/.gunicorn socket between services
    assert serve.discovery_url("127.0.0.1", 8123, settings) == "http://127.0.0.1:8123/cds-services"
    assert serve.discovery_url("::1", 8123, settings) == "http://[::1]:8123/cds-services"
    public = Settings(public_base_url="https://cds.example.org")
    assert serve.discovery_url("0.0.0.0", 8080, public) == "https://cds.example.org/cds-services"
