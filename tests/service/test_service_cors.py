"""CORS for browser clients such as the CDS Hooks sandbox (spec 01 §2)."""

from __future__ import annotations

import json

import pytest

ORIGIN = "https://sandbox.cds-hooks.org"
PATHS = [
    "/cds-services",
    "/cds-services/rrmm-relapse-guidance",
    "/cds-services/rrmm-relapse-guidance/feedback",
]


def assert_cors(response) -> None:
    assert response.headers["Access-Control-Allow-Origin"] in ("*", ORIGIN)


@pytest.mark.parametrize("path", PATHS)
def test_preflight_without_token_succeeds(client, path):
    response = client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert 200 <= response.status_code < 300
    assert_cors(response)
    allowed_headers = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed_headers
    allowed_methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= allowed_methods


def test_preflight_with_auth_required_still_succeeds(test_settings, fixed_clock, tmp_path):
    from dataclasses import replace

    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    from cds_service.app import create_app

    jwks = tmp_path / "jwks.json"
    public_key = ec.generate_private_key(ec.SECP384R1()).public_key()
    jwk = dict(json.loads(ECAlgorithm.to_jwk(public_key)), kid="k1", alg="ES384", use="sig")
    jwks.write_text(json.dumps({"keys": [jwk]}))
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({"https://ehr.example.org/client": {"jwks_file": str(jwks)}}))
    settings = replace(
        test_settings,
        auth="required",
        trusted_issuers=str(issuers),
        public_base_url="https://cds.example.org",
    )
    app = create_app(settings, clock=fixed_clock)
    client = app.test_client()
    response = client.options(
        "/cds-services", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert 200 <= response.status_code < 300
    assert_cors(response)
    unauthenticated = client.get("/cds-services", headers={"Origin": ORIGIN})
    assert unauthenticated.status_code == 401
    assert_cors(unauthenticated)


def test_actual_responses_carry_allow_origin(client):
    assert_cors(client.get("/cds-services", headers={"Origin": ORIGIN}))
    bad = client.post(
        "/cds-services/rrmm-relapse-guidance",
        data=b"{",
        content_type="application/json",
        headers={"Origin": ORIGIN},
    )
    assert bad.status_code == 400
    assert_cors(bad)
    missing = client.post("/cds-services/none", data=b"{}", content_type="application/json")
    assert missing.status_code == 404
    assert_cors(missing)
