"""The timeline token: a short-lived HS256 JWT the service puts in a card link's ``appContext``.

It authorises one thing: ``POST /timeline/api/explain`` for the patient of the hook call that
produced the card, until it expires. It never holds the patient id: the ``pat`` claim is a keyed
hash of it, so the token says nothing about the patient to whoever sees the link, and a token
minted for one patient does not open another's explanation.

Claims: ``aud`` (fixed), ``iat``, ``exp`` (``RRMM_CDS_TIMELINE_TOKEN_TTL_S``), ``pat``.
Key: ``RRMM_CDS_TIMELINE_KEY`` (at least 32 characters; required in production for the link
to be offered); development derives one from the database URL (stable across workers, not secret).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import jwt

AUDIENCE = "rrmm-cds-timeline"
ALGORITHM = "HS256"


class TokenRefused(Exception):
    """The token is missing, malformed, expired, badly signed or for another patient; the reason is
    a fixed phrase (never token content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def development_key(database_url: str) -> str:
    return hashlib.sha256(f"rrmm-cds development timeline key|{database_url}".encode()).hexdigest()


@dataclass(frozen=True)
class TimelineTokens:
    key: str
    ttl_s: int

    def patient_hash(self, patient_id: str) -> str:
        return hmac.new(self.key.encode(), f"patient|{patient_id}".encode(), hashlib.sha256).hexdigest()

    def mint(self, patient_id: str, now: datetime) -> str:
        issued = int(now.timestamp())
        claims = {"aud": AUDIENCE, "iat": issued, "exp": issued + self.ttl_s, "pat": self.patient_hash(patient_id)}
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)

    def verify(self, authorization: str | None, patient_id: str, now: datetime) -> None:
        """Raise TokenRefused unless ``authorization`` is ``Bearer <token>`` valid now for ``patient_id``."""
        if not authorization:
            raise TokenRefused("no token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRefused("not a bearer token")
        try:
            claims = jwt.decode(
                token.strip(),
                self.key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["aud", "exp", "iat", "pat"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise TokenRefused("invalid token") from None
        issued, expires = claims.get("iat"), claims.get("exp")
        if not isinstance(issued, int) or not isinstance(expires, int) or expires - issued > self.ttl_s:
            raise TokenRefused("invalid lifetime")
        if now.timestamp() >= expires:
            raise TokenRefused("expired")
        if now.timestamp() < issued - 60:
            raise TokenRefused("issued in the future")
        if not hmac.compare_digest(str(claims.get("pat")), self.patient_hash(patient_id)):
            raise TokenRefused("another patient")
