"""Trusted-issuer file, JWKS sources, key rotation refresh and the jku allow-list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from cds_service.security import issuers as issuers_mod
from cds_service.security.issuers import IssuerConfigError, load_trusted_issuers
from cds_service.security.jwt_auth import AuthenticationFailed, ClientJwtVerifier

from .jwt_helpers import BASE_URL, ISSUER, ClientKeys, MemoryReplayGuard

AUD = f"{BASE_URL}/cds-services/rrmm-relapse-guidance"
JWKS_URL = "https://ehr.test/.well-known/jwks.json"
JKU_URL = "https://ehr.test/jku/jwks.json"


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


def write_issuers(tmp_path: Path, spec: object) -> Path:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.mark.parametrize(
    "spec",
    [
        {},
        [],
        {ISSUER: {}},
        {ISSUER: {"jwks_file": "a.json", "jwks_url": JWKS_URL}},
        {ISSUER: {"jwks_url": "ftp://ehr.test/jwks"}},
        {ISSUER: {"jwks_url": JWKS_URL, "jku": "https://x.test/j"}},
        {ISSUER: {"jwks_url": JWKS_URL, "jku": ["http://user@x.test/j"]}},
        {ISSUER: {"jwks_url": JWKS_URL, "surprise": 1}},
        {ISSUER: {"jwks_file": "missing.json"}},
        {ISSUER: "https://ehr.test/jwks"},
    ],
)
def test_bad_issuer_files_refuse_to_load(tmp_path: Path, spec: object) -> None:
    with pytest.raises(IssuerConfigError):
        load_trusted_issuers(write_issuers(tmp_path, spec), production=False)


def test_missing_or_garbage_file(tmp_path: Path) -> None:
    with pytest.raises(IssuerConfigError):
        load_trusted_issuers(tmp_path / "nope.json", production=False)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(IssuerConfigError):
        load_trusted_issuers(tmp_path / "bad.json", production=False)


def test_production_requires_https_key_urls(tmp_path: Path) -> None:
    path = write_issuers(tmp_path, {ISSUER: {"jwks_url": "http://ehr.test/jwks.json"}})
    load_trusted_issuers(path, production=False)
    with pytest.raises(IssuerConfigError):
        load_trusted_issuers(path, production=True)


def test_jwks_file_without_usable_keys_is_refused(tmp_path: Path) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}))
    with pytest.raises(IssuerConfigError):
        load_trusted_issuers(write_issuers(tmp_path, {ISSUER: {"jwks_file": "jwks.json"}}), production=False)


@responses.activate
def test_jwks_url_is_fetched_once_and_cached(keys: ClientKeys, tmp_path: Path) -> None:
    responses.get(JWKS_URL, json=keys.jwks())
    issuers = load_trusted_issuers(write_issuers(tmp_path, {ISSUER: {"jwks_url": JWKS_URL}}), production=True)
    verifier = ClientJwtVerifier(issuers, MemoryReplayGuard())
    for _ in range(3):
        verifier.verify(f"Bearer {keys.token(AUD)}", [AUD])
    assert len(responses.calls) == 1


@responses.activate
def test_unknown_kid_refresh_is_rate_limited(keys: ClientKeys, tmp_path: Path) -> None:
    responses.get(JWKS_URL, json=keys.jwks())
    issuers = load_trusted_issuers(write_issuers(tmp_path, {ISSUER: {"jwks_url": JWKS_URL}}), production=False)
    verifier = ClientJwtVerifier(issuers, MemoryReplayGuard())
    verifier.verify(f"Bearer {keys.token(AUD)}", [AUD])
    for index in range(20):
        with pytest.raises(AuthenticationFailed):
            verifier.verify(f"Bearer {keys.token(AUD, header={'kid': f'random-{index}'})}", [AUD])
    assert len(responses.calls) == 1  # the first fetch; unknown kids inside the interval fetch nothing


def test_key_rotation_in_the_file_is_picked_up(keys: ClientKeys, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = keys.write(tmp_path)
    verifier = ClientJwtVerifier(load_trusted_issuers(path, production=False), MemoryReplayGuard())
    rotated = ClientKeys(kid_es="es-2", kid_rs="rs-2")
    (tmp_path / "jwks.json").write_text(json.dumps(rotated.jwks()))
    monkeypatch.setattr(issuers_mod, "REFRESH_INTERVAL_S", 0.0)
    verifier.verify(f"Bearer {rotated.token(AUD)}", [AUD])


@responses.activate
def test_jku_not_on_the_allow_list_is_never_fetched(keys: ClientKeys, tmp_path: Path) -> None:
    attacker = ClientKeys(kid_es="evil")
    responses.get("https://attacker.test/jwks.json", json=attacker.jwks())
    path = keys.write(tmp_path)
    verifier = ClientJwtVerifier(load_trusted_issuers(path, production=False), MemoryReplayGuard())
    token = attacker.token(AUD, header={"jku": "https://attacker.test/jwks.json"})
    with pytest.raises(AuthenticationFailed):
        verifier.verify(f"Bearer {token}", [AUD])
    assert len(responses.calls) == 0


@responses.activate
def test_allow_listed_jku_is_used(keys: ClientKeys, tmp_path: Path) -> None:
    signer = ClientKeys(kid_es="jku-key")
    responses.get(JKU_URL, json=signer.jwks())
    path = keys.write(tmp_path, jku=[JKU_URL])
    verifier = ClientJwtVerifier(load_trusted_issuers(path, production=False), MemoryReplayGuard())
    verifier.verify(f"Bearer {signer.token(AUD, header={'jku': JKU_URL})}", [AUD])
    # The same kid without the jku is looked up in the issuer's own JWKS, where it does not exist.
    with pytest.raises(AuthenticationFailed):
        verifier.verify(f"Bearer {signer.token(AUD)}", [AUD])
    # A jku allow-listed for this issuer but with a different query string is another URL.
    with pytest.raises(AuthenticationFailed):
        verifier.verify(f"Bearer {signer.token(AUD, header={'jku': JKU_URL + '?x=1'})}", [AUD])


@responses.activate
def test_jwks_endpoint_failure_rejects_without_crashing(keys: ClientKeys, tmp_path: Path) -> None:
    responses.get(JWKS_URL, status=503)
    issuers = load_trusted_issuers(write_issuers(tmp_path, {ISSUER: {"jwks_url": JWKS_URL}}), production=False)
    with pytest.raises(AuthenticationFailed):
        ClientJwtVerifier(issuers, MemoryReplayGuard()).verify(f"Bearer {keys.token(AUD)}", [AUD])


@responses.activate
def test_jwks_redirects_are_not_followed(keys: ClientKeys, tmp_path: Path) -> None:
    responses.get(JWKS_URL, status=302, headers={"Location": "http://169.254.169.254/jwks"})
    responses.get("http://169.254.169.254/jwks", json=keys.jwks())
    issuers = load_trusted_issuers(write_issuers(tmp_path, {ISSUER: {"jwks_url": JWKS_URL}}), production=False)
    with pytest.raises(AuthenticationFailed):
        ClientJwtVerifier(issuers, MemoryReplayGuard()).verify(f"Bearer {keys.token(AUD)}", [AUD])
    assert [call.request.url for call in responses.calls] == [JWKS_URL]
