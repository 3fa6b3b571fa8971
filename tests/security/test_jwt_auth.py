"""Client JWT verification: every rule of CDS Hooks "Trusting CDS Clients" (spec 01 §3)."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service.security.issuers import load_trusted_issuers
from cds_service.security.jwt_auth import (
    AuthenticationFailed,
    ClientJwtVerifier,
    ReplayStoreUnavailable,
    expected_audiences,
)

from .jwt_helpers import BASE_URL, ISSUER, ClientKeys, MemoryReplayGuard

AUD = f"{BASE_URL}/cds-services/rrmm-order-sign"


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


@pytest.fixture
def verifier(keys: ClientKeys, tmp_path: Path) -> ClientJwtVerifier:
    issuers = load_trusted_issuers(keys.write(tmp_path), production=False)
    return ClientJwtVerifier(issuers, MemoryReplayGuard())


def bearer(token: str) -> str:
    return f"Bearer {token}"


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_valid_tokens_are_accepted(verifier: ClientJwtVerifier, keys: ClientKeys, alg: str) -> None:
    client = verifier.verify(bearer(keys.token(AUD, alg)), [AUD])
    assert client.issuer == ISSUER


def test_aud_as_one_element_array_and_extra_claims(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    token = keys.token([AUD], claims={"sub": "client-1", "tenant": "t1", "nbf": int(time.time()) - 10})
    assert verifier.verify(bearer(token), [AUD]).subject == "client-1"


def test_lowercase_bearer_scheme_is_accepted(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    verifier.verify("bearer " + keys.token(AUD), [AUD])


def _reject(verifier: ClientJwtVerifier, authorization: str | None, audiences: list[str] | None = None) -> str:
    with pytest.raises(AuthenticationFailed) as info:
        verifier.verify(authorization, audiences or [AUD])
    return info.value.reason


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic Y2RzOnNlY3JldA==", "Bearer not-a-jwt", "Bearer aaaa.bbbb.cccc",
     "Bearer a.b.", "Bearer " + "a" * 20000 + ".b.c"],
)
def test_malformed_authorization_is_rejected(verifier: ClientJwtVerifier, authorization: str | None) -> None:
    _reject(verifier, authorization)


def test_bare_token_without_scheme_is_rejected(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    _reject(verifier, keys.token(AUD))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_alg_none_is_rejected(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    good = keys.token(AUD)
    _, payload, signature = good.split(".")
    head = _b64(b'{"alg":"none","typ":"JWT","kid":"es-1"}')
    _reject(verifier, bearer(f"{head}.{payload}."))
    _reject(verifier, bearer(f"{head}.{payload}.{signature}"))


def test_hmac_with_public_key_bytes_is_rejected(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    pem = keys.rs384.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUD, "exp": now + 300, "iat": now, "jti": "hmac-1"}
    # PyJWT refuses to HMAC with PEM bytes, so sign by hand the way an attacker would.
    import hashlib
    import hmac
    import json

    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rs-1"}).encode())
    body = _b64(json.dumps(payload).encode())
    sig = _b64(hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    assert _reject(verifier, bearer(f"{head}.{body}.{sig}")) == "algorithm not allowed"


def test_flipped_signature_bit_is_rejected(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    head, body, sig = keys.token(AUD).split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[10] ^= 1
    _reject(verifier, bearer(f"{head}.{body}.{_b64(bytes(raw))}"))


def test_foreign_key_under_trusted_kid_is_rejected(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    _reject(verifier, bearer(keys.token(AUD, key=other)))


def test_key_of_the_wrong_type_for_the_alg_is_rejected(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    # RS384 signature, but the header names the EC key's kid.
    token = keys.token(AUD, "RS384", header={"kid": keys.kid_es})
    _reject(verifier, bearer(token))


def test_wrong_audience_is_rejected(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    _reject(verifier, bearer(keys.token(f"{BASE_URL}/cds-services/other")))
    _reject(verifier, bearer(keys.token(f"{BASE_URL}/cds-services")))
    _reject(verifier, bearer(keys.token([f"{BASE_URL}/cds-services/other"])))


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3900},
        {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 3900},
        {"nbf": int(time.time()) + 3600},
        {"exp": int(time.time()) + 10 * 86400},
        {"exp": "soon"},
        {"jti": 42},
        {"jti": ""},
        {"jti": "x" * 300},
        {"iss": "https://unknown.test/client"},
    ],
)
def test_bad_claims_are_rejected(verifier: ClientJwtVerifier, keys: ClientKeys, claims: dict) -> None:
    _reject(verifier, bearer(keys.token(AUD, claims=claims)))


@pytest.mark.parametrize("missing", ["exp", "iat", "jti", "iss", "aud", "kid"])
def test_missing_claims_and_kid_are_rejected(verifier: ClientJwtVerifier, keys: ClientKeys, missing: str) -> None:
    _reject(verifier, bearer(keys.token(AUD, drop=(missing,))))


def test_small_clock_skew_is_tolerated(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    now = int(time.time())
    verifier.verify(bearer(keys.token(AUD, claims={"iat": now + 20, "nbf": now + 20})), [AUD])


def test_unknown_kid_is_rejected(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    assert _reject(verifier, bearer(keys.token(AUD, header={"kid": "nope"}))) == "unknown kid"


def test_replayed_jti_is_rejected(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    token = keys.token(AUD)
    verifier.verify(bearer(token), [AUD])
    assert _reject(verifier, bearer(token)) == "jti replayed"


def test_rejected_tokens_do_not_consume_their_jti(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    token = keys.token(AUD, claims={"jti": "shared-jti"})
    _reject(verifier, bearer(token), [f"{BASE_URL}/cds-services/other"])
    verifier.verify(bearer(token), [AUD])


def test_replay_store_failure_fails_closed(keys: ClientKeys, tmp_path: Path) -> None:
    class BrokenGuard:
        def claim_jti(self, *args: object) -> bool:
            raise RuntimeError("database down")

    broken = ClientJwtVerifier(load_trusted_issuers(keys.write(tmp_path), production=False), BrokenGuard())
    # Closed (no client is verified), but as "try again" (503), not as a credential failure.
    with pytest.raises(ReplayStoreUnavailable):
        broken.verify(bearer(keys.token(AUD)), [AUD])


def test_es256_and_rs256_only_when_configured(keys: ClientKeys, tmp_path: Path) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(p256.public_key(), as_dict=True)
    jwk.update(kid="es256-1")
    jwks_path = tmp_path / "jwks.json"
    import json

    jwks_path.write_text(json.dumps({"keys": [jwk]}))
    (tmp_path / "issuers.json").write_text(json.dumps({ISSUER: {"jwks_file": "jwks.json"}}))
    issuers = load_trusted_issuers(tmp_path / "issuers.json", production=False)
    token = keys.token(AUD, "ES256", header={"kid": "es256-1"}, key=p256)
    with pytest.raises(AuthenticationFailed):
        ClientJwtVerifier(issuers, MemoryReplayGuard()).verify(bearer(token), [AUD])
    permissive = ClientJwtVerifier(issuers, MemoryReplayGuard(), algorithms=frozenset({"ES256", "ES384"}))
    permissive.verify(bearer(token), [AUD])


def test_hmac_algorithms_cannot_be_configured(keys: ClientKeys, tmp_path: Path) -> None:
    issuers = load_trusted_issuers(keys.write(tmp_path), production=False)
    with pytest.raises(ValueError):
        ClientJwtVerifier(issuers, MemoryReplayGuard(), algorithms=frozenset({"HS256"}))
    with pytest.raises(ValueError):
        ClientJwtVerifier(issuers, MemoryReplayGuard(), algorithms=frozenset({"none"}))


def test_expected_audiences() -> None:
    base = "https://cds.test/base/"
    assert expected_audiences(base, "/cds-services") == ["https://cds.test/base/cds-services"]
    assert expected_audiences(base, "/cds-services/x/") == ["https://cds.test/base/cds-services/x"]
    assert expected_audiences(base, "/cds-services/x/feedback") == [
        "https://cds.test/base/cds-services/x/feedback",
        "https://cds.test/base/cds-services/x",
    ]


def test_curve_must_match_the_algorithm(keys: ClientKeys, tmp_path: Path) -> None:
    import json

    p256 = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(p256.public_key(), as_dict=True)
    jwk.update(kid="p256-no-alg")  # no "alg": only the curve says what it is for
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    (tmp_path / "issuers.json").write_text(json.dumps({ISSUER: {"jwks_file": "jwks.json"}}))
    issuers = load_trusted_issuers(tmp_path / "issuers.json", production=False)
    verifier = ClientJwtVerifier(issuers, MemoryReplayGuard(), algorithms=frozenset({"ES256", "ES384"}))
    # Signed ES256 but labelled ES384: the key/algorithm check must refuse it before any crypto.
    _, payload, signature = keys.token(AUD, "ES256", header={"kid": "p256-no-alg"}, key=p256).split(".")
    token = f"{_b64(json.dumps({'alg': 'ES384', 'typ': 'JWT', 'kid': 'p256-no-alg'}).encode())}.{payload}.{signature}"
    assert _reject(verifier, bearer(token)) == "key does not fit the algorithm"
