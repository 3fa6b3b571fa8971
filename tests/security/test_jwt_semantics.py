"""JWT semantics as documented (01 §3): one audience, a bounded token age, numeric time claims,
bounded failure labels, and a replay store that is down is not a credential problem."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cds_service.security.issuers import load_trusted_issuers
from cds_service.security.jwt_auth import (
    MAX_LIFETIME_S,
    AuthenticationFailed,
    ClientJwtVerifier,
    ReplayStoreUnavailable,
    reason_label,
)

from .jwt_helpers import BASE_URL, ClientKeys, MemoryReplayGuard

AUD = f"{BASE_URL}/cds-services/rrmm-relapse-guidance"


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


@pytest.fixture
def verifier(keys: ClientKeys, tmp_path: Path) -> ClientJwtVerifier:
    return ClientJwtVerifier(load_trusted_issuers(keys.write(tmp_path), production=False), MemoryReplayGuard())


def _reason(verifier: ClientJwtVerifier, token: str) -> str:
    with pytest.raises(AuthenticationFailed) as info:
        verifier.verify(f"Bearer {token}", [AUD])
    return info.value.reason


@pytest.mark.parametrize("aud", [[AUD, "https://elsewhere.example/x"], ["https://elsewhere.example/x", AUD], [AUD, AUD]])
def test_aud_must_be_exactly_the_service_url(verifier: ClientJwtVerifier, keys: ClientKeys, aud: list) -> None:
    assert reason_label(_reason(verifier, keys.token(aud))) == "audience"


def test_an_empty_aud_is_refused(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    assert reason_label(_reason(verifier, keys.token([]))) in ("audience", "claims")


@pytest.mark.parametrize("age", [MAX_LIFETIME_S + 600, 30 * 86400])
def test_iat_older_than_the_maximum_lifetime_is_refused(verifier: ClientJwtVerifier, keys: ClientKeys, age: int) -> None:
    now = int(time.time())
    token = keys.token(AUD, claims={"iat": now - age, "exp": now + 120})
    assert reason_label(_reason(verifier, token)) == "lifetime"


def test_iat_zero_is_refused(verifier: ClientJwtVerifier, keys: ClientKeys) -> None:
    assert reason_label(_reason(verifier, keys.token(AUD, claims={"iat": 0}))) == "lifetime"


@pytest.mark.parametrize("claim", ["nbf", "exp", "iat"])
def test_time_claims_must_be_numbers(verifier: ClientJwtVerifier, keys: ClientKeys, claim: str) -> None:
    value = str(int(time.time()) + (300 if claim == "exp" else -10))
    assert reason_label(_reason(verifier, keys.token(AUD, claims={claim: value}))) == "claims"


def test_a_replay_store_that_is_down_is_not_an_authentication_failure(keys: ClientKeys, tmp_path: Path) -> None:
    class DownGuard:
        def claim_jti(self, *_args: object) -> bool:
            raise OSError("database unreachable")

    verifier = ClientJwtVerifier(load_trusted_issuers(keys.write(tmp_path), production=False), DownGuard())
    with pytest.raises(ReplayStoreUnavailable):
        verifier.verify(f"Bearer {keys.token(AUD)}", [AUD])


@pytest.mark.parametrize(
    ("reason", "label"),
    [("no Authorization header", "missing"), ("token rejected (ExpiredSignatureError)", "expired"),
     ("token rejected (InvalidAudienceError)", "audience"), ("jti replayed", "replay"),
     ("JWKS unreachable (ConnectTimeout)", "jwks_unavailable"), ("something new", "other")],
)
def test_reason_labels_are_a_bounded_set(reason: str, label: str) -> None:
    assert reason_label(reason) == label
