"""The database behind the replay check down: 503 + Retry-After for everyone, never a 401 that
EHRs read as a credential problem; the auth-failure metric carries bounded reason labels.

Before: 1,611 requests during a 15 s outage were answered 401, and the metric had no reason."""

from __future__ import annotations

import uuid
from pathlib import Path

from prometheus_client import REGISTRY
from security.jwt_helpers import BASE_URL, ClientKeys
from sqlalchemy import text

from cds_service import samples
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.security.jwt_auth import REASON_LABELS
from cds_service.services import discovery_document

SERVICE = discovery_document()["services"][0]
URL = f"{BASE_URL}/cds-services/{SERVICE['id']}"


def _app(tmp_path: Path, keys: ClientKeys):
    return create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'store.sqlite3'}",
            auth="required",
            public_base_url=BASE_URL,
            trusted_issuers=str(keys.write(tmp_path)),
        )
    )


def _body() -> dict:
    request = samples.hook_request(
        samples.personas()[0], SERVICE["hook"], samples.utc_today(), prefetch_templates=SERVICE["prefetch"]
    )
    request["hookInstance"] = str(uuid.uuid4())
    return request


def test_replay_store_down_is_503_not_401(tmp_path: Path) -> None:
    keys = ClientKeys()
    app = _app(tmp_path, keys)
    client = app.test_client()
    ok = client.post(f"/cds-services/{SERVICE['id']}", json=_body(),
                     headers={"Authorization": f"Bearer {keys.token(URL)}"})
    assert ok.status_code == 200
    with app.extensions["rrmm_cds"].store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE jwt_jti RENAME TO jwt_jti_gone"))  # the replay store fails
    for _ in range(3):
        response = client.post(f"/cds-services/{SERVICE['id']}", json=_body(),
                               headers={"Authorization": f"Bearer {keys.token(URL)}"})
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert response.get_json()["issue"][0]["code"] == "transient"


def test_auth_failures_are_counted_by_bounded_reason(tmp_path: Path) -> None:
    keys = ClientKeys()
    client = _app(tmp_path, keys).test_client()
    before = REGISTRY.get_sample_value("rrmm_cds_auth_failures_total", {"reason": "missing"}) or 0
    assert client.get("/cds-services").status_code == 401
    assert client.get("/cds-services", headers={"Authorization": f"Bearer {keys.token('https://wrong.example')}"}).status_code == 401
    assert REGISTRY.get_sample_value("rrmm_cds_auth_failures_total", {"reason": "missing"}) == before + 1
    assert (REGISTRY.get_sample_value("rrmm_cds_auth_failures_total", {"reason": "audience"}) or 0) >= 1
    labels = {sample.labels["reason"] for metric in REGISTRY.collect() if metric.name == "rrmm_cds_auth_failures"
              for sample in metric.samples}
    assert {"missing", "audience"} <= labels <= REASON_LABELS and "rejected" not in labels


def test_preview_is_not_served_when_client_jwts_are_required(tmp_path: Path) -> None:
    client = _app(tmp_path, ClientKeys()).test_client()
    assert client.get("/").status_code == 404
    assert client.get("/preview/api/personas").status_code == 404


def test_a_client_over_its_rate_gets_429_with_retry_after(tmp_path: Path) -> None:
    keys = ClientKeys()
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'store.sqlite3'}",
            auth="required",
            public_base_url=BASE_URL,
            trusted_issuers=str(keys.write(tmp_path)),
            rate_limit_per_s=0.5,
            rate_burst=3,
        )
    )
    client = app.test_client()
    statuses = []
    for _ in range(5):
        response = client.post(f"/cds-services/{SERVICE['id']}", json=_body(),
                               headers={"Authorization": f"Bearer {keys.token(URL)}"})
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429, 429]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["issue"][0]["code"] == "throttled"
    # Discovery is not throttled.
    assert client.get("/cds-services", headers={"Authorization": f"Bearer {keys.token(f'{BASE_URL}/cds-services')}"}).status_code == 200
