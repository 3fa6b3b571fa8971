"""Numbers from the environment (cds_service.serving.env_numbers): a bad value of a port, a
timeout or a worker count is one line on stderr and exit status 2 — in the shared helper, in the
proxy's and worker's timeouts, in deploy/gunicorn.conf.py and through `rrmm-cds serve` — never a
traceback."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service.serving import proxy
from cds_service.serving.env_numbers import int_from_env
from cds_service.serving.gunicorn_glue import port_from_env

CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
NUMBER_VARIABLES = ("GUNICORN_WORKERS", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "RRMM_CDS_PROBE_PORT",
                    "RRMM_CDS_METRICS_PORT", "RRMM_CDS_HEADER_TIMEOUT", "RRMM_CDS_BODY_TIMEOUT")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NUMBER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def refusal(capsys: pytest.CaptureFixture[str], call) -> str:  # noqa: ANN001 - a zero-argument callable
    with pytest.raises(SystemExit) as stopped:
        call()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # Besides JSON log records (development's auth warning), exactly one line: the refusal.
    lines = [line for line in err.strip().splitlines() if not line.startswith("{")]
    assert len(lines) == 1, err
    return lines[0]


def test_unset_and_blank_are_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert int_from_env("RRMM_CDS_HEADER_TIMEOUT", default=7, minimum=1) == 7
    monkeypatch.setenv("RRMM_CDS_HEADER_TIMEOUT", "  ")
    assert int_from_env("RRMM_CDS_HEADER_TIMEOUT", default=7, minimum=1) == 7


def test_the_first_set_name_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert int_from_env("GUNICORN_WORKERS", "WEB_CONCURRENCY", default=9, minimum=1) == 3
    monkeypatch.setenv("GUNICORN_WORKERS", " 5 ")
    assert int_from_env("GUNICORN_WORKERS", "WEB_CONCURRENCY", default=9, minimum=1) == 5


@pytest.mark.parametrize(("raw", "message"), [
    ("soon", "RRMM_CDS_HEADER_TIMEOUT must be a positive number of seconds"),
    ("2.5", "RRMM_CDS_HEADER_TIMEOUT must be a positive number of seconds"),
    ("0", "RRMM_CDS_HEADER_TIMEOUT must be a positive number of seconds"),
    ("-3", "RRMM_CDS_HEADER_TIMEOUT must be a positive number of seconds"),
])
def test_a_bad_timeout_is_one_line_and_status_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                raw: str, message: str) -> None:
    monkeypatch.setenv("RRMM_CDS_HEADER_TIMEOUT", raw)
    line = refusal(capsys, lambda: proxy.env_seconds("RRMM_CDS_HEADER_TIMEOUT", proxy.DEFAULT_HEADER_TIMEOUT_S))
    assert line == f"rrmm-cds: configuration error: {message}"


def test_a_good_timeout_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RRMM_CDS_BODY_TIMEOUT", "45")
    assert proxy.env_seconds("RRMM_CDS_BODY_TIMEOUT", proxy.DEFAULT_BODY_TIMEOUT_S) == 45


@pytest.mark.parametrize(("raw", "message"), [
    ("http", "RRMM_CDS_PROBE_PORT must be a port number"),
    ("65536", "RRMM_CDS_PROBE_PORT must be between 0 and 65535"),
    ("-1", "RRMM_CDS_PROBE_PORT must be between 0 and 65535"),
])
def test_ports_keep_their_messages(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                   raw: str, message: str) -> None:
    monkeypatch.setenv("RRMM_CDS_PROBE_PORT", raw)
    assert refusal(capsys, lambda: port_from_env("RRMM_CDS_PROBE_PORT", 8081)) == f"rrmm-cds: configuration error: {message}"


def test_ports_unset_zero_and_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert port_from_env("RRMM_CDS_PROBE_PORT", 8081) == 8081
    monkeypatch.setenv("RRMM_CDS_PROBE_PORT", "0")
    assert port_from_env("RRMM_CDS_PROBE_PORT", 8081) is None  # off
    monkeypatch.setenv("RRMM_CDS_PROBE_PORT", "9191")
    assert port_from_env("RRMM_CDS_PROBE_PORT", 8081) == 9191


def _conf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> dict:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.setenv("RRMM_CDS_ENV", "development")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("GUNICORN_WORKERS", "four", "GUNICORN_WORKERS must be a positive whole number"),
    ("GUNICORN_WORKERS", "0", "GUNICORN_WORKERS must be a positive whole number"),
    ("WEB_CONCURRENCY", "2x", "WEB_CONCURRENCY must be a positive whole number"),
    ("GUNICORN_TIMEOUT", "30s", "GUNICORN_TIMEOUT must be a whole number of at least 0"),
    ("GUNICORN_TIMEOUT", "-1", "GUNICORN_TIMEOUT must be a whole number of at least 0"),
])
def test_gunicorn_conf_refuses_a_bad_number_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          name: str, raw: str, message: str) -> None:
    line = refusal(capsys, lambda: _conf(monkeypatch, tmp_path, **{name: raw}))
    assert line == f"rrmm-cds: configuration error: {message}"


def test_gunicorn_conf_reads_good_numbers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = _conf(monkeypatch, tmp_path, WEB_CONCURRENCY="3", GUNICORN_TIMEOUT="0")
    assert settings["workers"] == 3
    assert settings["timeout"] == 0  # gunicorn's "no worker timeout" stays expressible


def test_rrmm_cds_serve_refuses_a_bad_timeout_before_serving(tmp_path: Path) -> None:
    env = {**os.environ, "RRMM_CDS_ENV": "development", "RRMM_CDS_HEADER_TIMEOUT": "soon",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m")}
    done = subprocess.run([sys.executable, "-m", "cds_service.cli", "serve", "--port", "1", "--proxy", "off"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "rrmm-cds: configuration error: RRMM_CDS_HEADER_TIMEOUT must be a positive number of seconds" \
        in done.stderr.splitlines()
