"""/healthz, /readyz, /metrics and request metrics on a minimal Flask app."""

from __future__ import annotations

import pytest
from flask import Flask, abort, jsonify
from prometheus_client.parser import text_string_to_metric_families

from cds_service.observability import (
    add_readiness_check,
    init_observability,
    record_auth_failure,
    record_cards,
    record_fetch_errors,
)


def _make_app(checks: dict | None = None) -> Flask:
    app = Flask("observability-test")

    @app.post("/cds-services/<service_id>")
    def call(service_id: str):
        if service_id != "known-service":
            abort(404)
        return jsonify(cards=[])

    init_observability(app, readiness_checks=checks)
    return app


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _sample(client, name: str, **labels: str) -> float:
    return _samples(client.get("/metrics").get_data(as_text=True)).get(
        (name, tuple(sorted(labels.items()))), 0.0
    )


def test_healthz_is_always_ok() -> None:
    client = _make_app({"store": lambda: False}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_ready_when_all_checks_pass() -> None:
    client = _make_app({"knowledge_base": lambda: True, "store": lambda: True}).test_client()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"knowledge_base": True, "store": True}}


@pytest.mark.parametrize("failing", [lambda: False, lambda: 1 / 0])
def test_readyz_503_with_json_body_when_a_check_fails(failing) -> None:
    app = _make_app({"knowledge_base": lambda: True})
    add_readiness_check(app, "store", failing)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "not ready", "checks": {"knowledge_base": True, "store": False}}


def test_request_count_and_latency_per_service() -> None:
    client = _make_app().test_client()
    endpoint = "/cds-services/<service_id>"
    labels = {"service": "known-service", "endpoint": endpoint}
    count_before = _sample(client, "rrmm_cds_http_request_duration_seconds_count", **labels)
    requests_before = _sample(client, "rrmm_cds_http_requests_total", method="POST", status="200", **labels)

    for _ in range(3):
        assert client.post("/cds-services/known-service").status_code == 200

    assert _sample(client, "rrmm_cds_http_request_duration_seconds_count", **labels) == count_before + 3
    assert (
        _sample(client, "rrmm_cds_http_requests_total", method="POST", status="200", **labels)
        == requests_before + 3
    )
    assert _sample(client, "rrmm_cds_http_request_duration_seconds_bucket", le="+Inf", **labels) >= 3


def test_unknown_service_ids_do_not_become_labels() -> None:
    client = _make_app().test_client()
    assert client.post("/cds-services/attacker-chosen-123").status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    assert "attacker-chosen-123" not in text
    assert 'service="unknown"' in text


def test_probes_and_scrapes_are_not_measured() -> None:
    client = _make_app().test_client()
    client.get("/healthz")
    client.get("/readyz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="/healthz"' not in text
    assert 'endpoint="/metrics"' not in text


def test_cards_fetch_errors_and_auth_failures_are_counted() -> None:
    client = _make_app().test_client()
    before = _sample(client, "rrmm_cds_cards_total", service="svc-x", topic="supportive-care")
    record_cards(
        "svc-x",
        [
            {"source": {"label": "x", "topic": {"code": "supportive-care"}}},
            {"source": {"label": "x", "topic": {"code": "supportive-care"}}},
            {"source": {"label": "x"}},
        ],
    )
    record_fetch_errors("svc-x", 2)
    record_auth_failure("expired")
    assert _sample(client, "rrmm_cds_cards_total", service="svc-x", topic="supportive-care") == before + 2
    assert _sample(client, "rrmm_cds_cards_total", service="svc-x", topic="none") >= 1
    assert _sample(client, "rrmm_cds_fetch_errors_total", service="svc-x") >= 2
    assert _sample(client, "rrmm_cds_auth_failures_total", reason="expired") >= 1


def test_401_responses_count_as_auth_failures() -> None:
    app = _make_app()

    @app.get("/cds-services")
    def discovery():
        from flask import g

        g.auth_failure_reason = "expired"
        return "", 401

    client = app.test_client()
    before = _sample(client, "rrmm_cds_auth_failures_total", reason="expired")
    client.get("/cds-services")
    assert _sample(client, "rrmm_cds_auth_failures_total", reason="expired") == before + 1


def test_feedback_items_counted_by_outcome() -> None:
    from cds_service.observability import record_feedback

    client = _make_app().test_client()
    before = _sample(client, "rrmm_cds_feedback_items_total", service="svc-f", outcome="overridden")
    record_feedback("svc-f", [{"outcome": "overridden"}, {"outcome": "accepted"}, {"outcome": "??"}])
    assert (
        _sample(client, "rrmm_cds_feedback_items_total", service="svc-f", outcome="overridden") == before + 1
    )
    assert _sample(client, "rrmm_cds_feedback_items_total", service="svc-f", outcome="other") >= 1


def test_prepare_multiprocess_directory(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from cds_service.observability.prefork import prepare_multiprocess_directory

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    target = tmp_path / "metrics"
    target.mkdir()
    (target / "counter_99.db").write_bytes(b"stale")
    assert prepare_multiprocess_directory(target) == target
    assert not list(target.iterdir())
    import os

    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(target)
    # an explicit environment setting wins over the argument
    assert prepare_multiprocess_directory(tmp_path / "other") == target
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    created = prepare_multiprocess_directory()
    assert created.is_dir() and os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(created)


def test_package_import_does_not_import_prometheus_client() -> None:
    """A pre-fork master may import the package before exporting PROMETHEUS_MULTIPROC_DIR."""
    import subprocess
    import sys

    code = (
        "import sys, cds_service.observability, cds_service.observability.prefork; "
        "print('prometheus_client' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
