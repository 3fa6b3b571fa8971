"""Test keys and token minting for the client-JWT tests (a stand-in for a CDS client)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://ehr.test/cds-client"
BASE_URL = "https://cds.test/base"


@dataclass
class ClientKeys:
    es384: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP384R1()))
    rs384: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid_es: str = "es-1"
    kid_rs: str = "rs-1"

    def jwks(self) -> dict[str, Any]:
        es = json.loads(ECAlgorithm.to_jwk(self.es384.public_key()))
        rs = json.loads(RSAAlgorithm.to_jwk(self.rs384.public_key()))
        es.update(kid=self.kid_es, alg="ES384", use="sig")
        rs.update(kid=self.kid_rs, alg="RS384", use="sig")
        return {"keys": [es, rs]}

    def write(self, directory: Path, issuer: str = ISSUER, **extra: Any) -> Path:
        jwks_path = directory / "jwks.json"
        jwks_path.write_text(json.dumps(self.jwks()))
        issuers = directory / "issuers.json"
        issuers.write_text(json.dumps({issuer: {"jwks_file": str(jwks_path), **extra}}))
        return issuers

    def token(self, aud: Any, alg: str = "ES384", *, claims: dict[str, Any] | None = None,
              header: dict[str, Any] | None = None, drop: tuple[str, ...] = (), key: Any = None) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {"iss": ISSUER, "aud": aud, "exp": now + 300, "iat": now,
                                   "jti": str(uuid.uuid4()), **(claims or {})}
        headers: dict[str, Any] = {"kid": self.kid_es if alg.startswith("ES") else self.kid_rs, "typ": "JWT",
                                   **(header or {})}
        for name in drop:
            payload.pop(name, None)
            headers.pop(name, None)
        signing_key = key if key is not None else (self.es384 if alg.startswith("ES") else self.rs384)
        token = jwt.encode(payload, signing_key, algorithm=alg, headers=headers)
        if "kid" in drop:  # PyJWT keeps a kid passed in headers only; make sure none slipped in
            assert "kid" not in jwt.get_unverified_header(token)
        return token


class MemoryReplayGuard:
    """In-process replay guard with the Store.claim_jti contract."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], dt.datetime] = {}

    def claim_jti(self, issuer: str, jti: str, expires_at: dt.datetime) -> bool:
        if (issuer, jti) in self.seen:
            return False
        self.seen[(issuer, jti)] = expires_at
        return True
