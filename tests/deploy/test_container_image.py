"""Lint of deploy/Dockerfile (no Docker engine here: structure only) and deploy/gunicorn.conf.py."""

from __future__ import annotations

import logging
import re
import runpy
import shlex
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|clang|make|build-essential|libpq-dev|python3?-dev|cmake)\b")


def _instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _args() -> dict[str, str]:
    return dict(rest.split("=", 1) for keyword, rest in _instructions() if keyword == "ARG" and "=" in rest)


def test_dockerfile_is_multi_stage_on_a_slim_base() -> None:
    stages = _stages()
    assert len(stages) >= 2
    for stage in stages:
        image = stage[0][1].split()[0]
        image = _args().get(image.strip("${}"), image)
        assert "slim" in image or "distroless" in image, image


def test_final_stage_runs_as_non_root_with_a_healthcheck() -> None:
    final = _stages()[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "numeric uid lets Kubernetes verify runAsNonRoot"
    healthchecks = [rest for keyword, rest in final if keyword == "HEALTHCHECK"]
    assert healthchecks and "/healthz" in healthchecks[-1]
    assert any(keyword in ("ENTRYPOINT", "CMD") and "gunicorn" in rest for keyword, rest in final)


def test_final_stage_installs_no_build_tools() -> None:
    final = _stages()[-1]
    for keyword, rest in final:
        if keyword == "RUN":
            assert not BUILD_TOOLS.search(rest), rest
    copies_from_build = [rest for keyword, rest in final if keyword == "COPY" and rest.startswith("--from=")]
    assert copies_from_build, "final stage should take the built virtualenv from the build stage"


def test_dockerfile_copies_only_what_exists() -> None:
    repo = DEPLOY.parent
    for keyword, rest in _instructions():
        if keyword == "COPY" and not rest.startswith("--from="):
            *sources, _destination = shlex.split(rest)
            for source in sources:
                assert (repo / source).exists(), source


@pytest.fixture
def gunicorn_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setenv("RRMM_CDS_BIND", "127.0.0.1:9123")
    for name in ("RRMM_CDS_ENV", "RRMM_CDS_PROBE_PORT", "RRMM_CDS_METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_gunicorn_settings(gunicorn_config: dict[str, Any]) -> None:
    assert gunicorn_config["bind"] == "127.0.0.1:9123"
    assert gunicorn_config["workers"] == 2 * gunicorn_config["_cpu_limit"]() + 1
    assert gunicorn_config["timeout"] >= 20
    assert gunicorn_config["graceful_timeout"] > 0
    # The pod's preStop pause plus the graceful shutdown stay inside a 50 s grace period.
    assert gunicorn_config["graceful_timeout"] + gunicorn_config["PRESTOP_SECONDS"] < 50
    assert gunicorn_config["control_socket_disable"] is True
    # One JSON stream: the app logs each request; gunicorn's error log is JSON too.
    assert gunicorn_config["accesslog"] is None and gunicorn_config["errorlog"] == "-"
    assert gunicorn_config["PROBE_PORT"] == 8081 and gunicorn_config["METRICS_PORT"] == 9090


def test_gunicorn_workers_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["workers"] == 7


def test_gunicorn_resets_the_metrics_directory(gunicorn_config: dict[str, Any], tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir(exist_ok=True)  # the configuration creates it for the preloaded application
    (metrics_dir / "counter_123.db").write_bytes(b"stale")
    gunicorn_config["on_starting"](None)
    assert metrics_dir.is_dir() and not any(metrics_dir.iterdir())


def test_access_log_lines_are_json_without_query_or_headers(
    gunicorn_config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from gunicorn.config import Config

    config = Config()
    config.set("accesslog", "-")
    logger = gunicorn_config["JsonAccessLogger"](config)
    logger.access_log.propagate = True
    response = SimpleNamespace(status="200 OK", sent=17, headers=[("X-Request-ID", "req-1")])
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/cds-services/rrmm-relapse-guidance",
        "QUERY_STRING": "access_token=secret",
        "HTTP_AUTHORIZATION": "Bearer eyJhbGciOi.secret.sig",
        "REMOTE_ADDR": "10.0.0.1",
    }
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logger.access(response, None, environ, timedelta(milliseconds=12.5))
    from cds_service.logging_json import JsonFormatter

    line = orjson.loads(JsonFormatter().format(caplog.records[-1]))
    assert line["status"] == 200
    assert line["path"] == "/cds-services/rrmm-relapse-guidance"
    assert line["request_id"] == "req-1"
    assert line["duration_ms"] == 12.5
    assert "secret" not in caplog.text


def test_worker_gc_tuning(gunicorn_config: dict[str, Any]) -> None:
    import gc

    thresholds = gc.get_threshold()
    try:
        gunicorn_config["post_worker_init"](None)
        assert gc.get_threshold() == gunicorn_config["GC_THRESHOLDS"]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_gunicorn_preloads_and_each_worker_gets_its_own_store_connections(
    gunicorn_config: dict[str, Any], test_settings: Any, fixed_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from cds_service.app import create_app

    assert gunicorn_config["preload_app"] is True
    app = create_app(test_settings, clock=fixed_clock)
    engine = app.extensions["rrmm_cds"].store.engine
    disposed: list[bool] = []
    monkeypatch.setattr(engine, "dispose", lambda close=True: disposed.append(close))
    try:
        gunicorn_config["post_fork"](None, SimpleNamespace(app=SimpleNamespace(callable=app)))
        assert gc.get_freeze_count() > 0, "the master's objects stay out of the worker's collections"
    finally:
        gc.unfreeze()
    assert disposed == [False], "the master's connections are dropped, not closed"
    # Another WSGI application under the same configuration (the benchmark's floor) has none.
    gunicorn_config["post_fork"](None, SimpleNamespace(app=SimpleNamespace(callable=object())))
    gc.unfreeze()
