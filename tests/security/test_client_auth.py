"""The Flask glue: protected paths, the uniform 401, configuration refusals, DB-backed replay."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Flask

from cds_service.config import ConfigError, Settings
from cds_service.security.client_auth import AuthConfigError, build_verifier, install_client_auth
from cds_service.store.store import Store

from .jwt_helpers import BASE_URL, ClientKeys, MemoryReplayGuard

SERVICE = "/cds-services/rrmm-order-sign"


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


def make_settings(tmp_path: Path, keys: ClientKeys, **overrides: object) -> Settings:
    settings = Settings(auth="required", public_base_url=BASE_URL, trusted_issuers=str(keys.write(tmp_path)))
    return dataclasses.replace(settings, **overrides)


def make_app(settings: Settings, guard: object) -> Flask:
    app = Flask("test")
    install_client_auth(app, settings, guard)  # type: ignore[arg-type]

    @app.route("/cds-services", methods=["GET", "OPTIONS"])
    def discovery() -> dict:
        return {"services": ["x"]}

    @app.route("/cds-services/<service_id>", methods=["POST", "OPTIONS"])
    def call(service_id: str) -> dict:
        return {"cards": ["x"]}

    @app.route("/cds-services/<service_id>/feedback", methods=["POST"])
    def feedback(service_id: str) -> dict:
        return {"ok": "x"}

    @app.route("/healthz")
    def healthz() -> str:
        return "ok"

    return app


@pytest.fixture
def client(tmp_path: Path, keys: ClientKeys):  # type: ignore[no-untyped-def]
    return make_app(make_settings(tmp_path, keys), MemoryReplayGuard()).test_client()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_valid_tokens_reach_discovery_service_and_feedback(client, keys: ClientKeys) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/cds-services", headers=auth(keys.token(BASE_URL + "/cds-services"))).status_code == 200
    assert client.post(SERVICE, json={}, headers=auth(keys.token(BASE_URL + SERVICE))).status_code == 200
    for aud in (BASE_URL + SERVICE + "/feedback", BASE_URL + SERVICE):
        assert client.post(SERVICE + "/feedback", json=[], headers=auth(keys.token(aud))).status_code == 200


def test_every_failure_gets_the_identical_401(client, keys: ClientKeys) -> None:  # type: ignore[no-untyped-def]
    token = keys.token(BASE_URL + SERVICE)
    assert client.post(SERVICE, json={}, headers=auth(token)).status_code == 200
    responses = [
        client.get("/cds-services"),
        client.post(SERVICE, json={}),
        client.post(SERVICE + "/feedback", json=[]),
        client.post(SERVICE, json={}, headers={"Authorization": "Basic Y2RzOnNlY3JldA=="}),
        client.post(SERVICE, json={}, headers=auth(keys.token(BASE_URL + "/cds-services/other"))),
        client.post(SERVICE, json={}, headers=auth(token)),  # replay
        client.post(SERVICE, json={}, headers=auth(keys.token(BASE_URL + SERVICE, drop=("kid",)))),
    ]
    assert {r.status_code for r in responses} == {401}
    bodies = {r.get_data() for r in responses}
    assert len(bodies) == 1
    assert {r.headers.get("WWW-Authenticate") for r in responses} == {"Bearer"}
    text = bodies.pop().decode().lower()
    for word in ("expired", "signature", "audience", "kid", "jti", "replay", "issuer", "alg"):
        assert word not in text


def test_aud_is_never_taken_from_request_headers(client, keys: ClientKeys) -> None:  # type: ignore[no-untyped-def]
    forged = "https://attacker.test" + SERVICE
    response = client.post(SERVICE, json={}, headers={
        **auth(keys.token(forged)), "Host": "attacker.test", "X-Forwarded-Host": "attacker.test",
        "X-Forwarded-Proto": "https", "Forwarded": "host=attacker.test;proto=https"})
    assert response.status_code == 401


def test_preflight_and_non_cds_paths_need_no_token(client) -> None:  # type: ignore[no-untyped-def]
    assert client.options("/cds-services").status_code == 200
    assert client.options(SERVICE).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_unknown_service_paths_are_protected_too(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/cds-services/nope", json={}).status_code == 401
    assert client.get("/cds-services/").status_code == 401


def test_disabled_auth_lets_everything_through_in_development(tmp_path: Path, keys: ClientKeys,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(make_settings(tmp_path, keys, auth="disabled"), MemoryReplayGuard())
    assert app.test_client().post(SERVICE, json={}).status_code == 200
    assert any("DISABLED" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


@pytest.mark.parametrize(
    "overrides",
    [
        {"auth": "disabled", "env": "production"},
        {"public_base_url": None},
        {"trusted_issuers": None},
        {"trusted_issuers": "/nonexistent/issuers.json"},
        {"auth": "sometimes"},
    ],
)
def test_unsafe_configurations_refuse_to_start(tmp_path: Path, keys: ClientKeys, overrides: dict) -> None:
    with pytest.raises(AuthConfigError):
        build_verifier(make_settings(tmp_path, keys, **overrides), MemoryReplayGuard())


def test_settings_defaults_from_environment(tmp_path: Path) -> None:
    assert Settings.from_env({}).auth == "disabled"
    assert Settings.from_env({"RRMM_CDS_ENV": "production", "DATABASE_URL": "postgresql://db/cds"}).auth == "required"
    with pytest.raises(ConfigError):
        Settings.from_env({"RRMM_CDS_ENV": "production", "RRMM_CDS_AUTH": "disabled"})
    with pytest.raises(ConfigError):
        Settings.from_env({"RRMM_CDS_JWT_ALGORITHMS": "HS256"})
    with pytest.raises(ConfigError):
        Settings.from_env({"RRMM_CDS_AUTH": "maybe"})
    settings = Settings.from_env({"RRMM_CDS_AUTH": "required", "RRMM_CDS_JWT_ALGORITHMS": "es256, ES384",
                                  "RRMM_CDS_TRUSTED_ISSUERS": "/x.json"})
    assert settings.jwt_algorithms == ("ES256", "ES384")
    assert settings.trusted_issuers == "/x.json"


def test_replay_is_caught_across_workers_sharing_the_database(tmp_path: Path, keys: ClientKeys) -> None:
    database_url = f"sqlite:///{tmp_path / 'replay.sqlite3'}"
    worker_a = make_app(make_settings(tmp_path, keys), Store.from_url(database_url)).test_client()
    worker_b = make_app(make_settings(tmp_path, keys), Store.from_url(database_url)).test_client()
    token = keys.token(BASE_URL + SERVICE)
    assert worker_a.post(SERVICE, json={}, headers=auth(token)).status_code == 200
    assert worker_b.post(SERVICE, json={}, headers=auth(token)).status_code == 401


def test_bad_fhir_allowlist_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="RRMM_CDS_FHIR_ALLOWLIST"):
        Settings.from_env({"RRMM_CDS_FHIR_ALLOWLIST": "127.0.0.1"})
    with pytest.raises(ConfigError, match="https"):
        Settings.from_env({"RRMM_CDS_ENV": "production", "RRMM_CDS_FHIR_ALLOWLIST": "http://fhir.test",
                           "RRMM_CDS_PUBLIC_BASE_URL": "https://cds.test", "RRMM_CDS_TRUSTED_ISSUERS": "/x"})
    assert Settings.from_env({"RRMM_CDS_FHIR_ALLOWLIST": "http://127.0.0.1, https://fhir.test:8443"}).fhir_allowlist


def test_concurrent_replays_of_one_token_succeed_exactly_once(tmp_path: Path, keys: ClientKeys) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from cds_service.security.jwt_auth import AuthenticationFailed

    store = Store.from_url(f"sqlite:///{tmp_path / 'replay.sqlite3'}")
    verifier = build_verifier(make_settings(tmp_path, keys), store)
    assert verifier is not None
    token = f"Bearer {keys.token(BASE_URL + SERVICE)}"

    def attempt(_: int) -> bool:
        try:
            verifier.verify(token, [BASE_URL + SERVICE])
            return True
        except AuthenticationFailed:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    assert outcomes.count(True) == 1
