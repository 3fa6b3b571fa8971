"""Client JWT verification (CDS Hooks 2.0 "Trusting CDS Clients", spec 01 §3).

Every check that fails raises :class:`AuthenticationFailed`; the HTTP layer turns any of them into
the same bare 401, so a caller learns nothing about which check failed.  The reason is kept on the
exception for a debug-level log line (it never contains the token or its claims).

Checks, in order (cheap and local first; the replay claim, which writes to the database, last so
that invalid tokens never occupy the replay table):

1. ``Authorization: Bearer <compact JWS>`` with three non-empty base64url segments;
2. header ``alg`` in the configured set (ES384, RS384 by default; never ``none`` or HMAC), ``kid``
   present, no ``crit`` extensions;
3. ``iss`` is a trusted issuer; ``jku``, if present, is on that issuer's allow-list;
4. the key for ``kid`` exists, is of the type and curve the algorithm needs;
5. numeric ``exp``/``iat``/``nbf``; signature; ``aud`` exactly one value, the called URL (as a string
   or a one-element array); ``exp``/``iat``/``nbf`` with a small clock skew; required claims
   ``iss aud exp iat jti``; a bounded lifetime: ``exp`` at most an hour ahead and ``iat`` at most an
   hour (plus the skew) old;
6. ``jti`` never seen before for this issuer (:class:`ReplayGuard`, backed by the database so
   the check holds across workers and replicas); a replay store that cannot be reached raises
   :class:`ReplayStoreUnavailable` (the HTTP layer answers 503), never AuthenticationFailed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from cds_service.security.issuers import JwksUnavailable, TrustedIssuer

logger = logging.getLogger(__name__)

DEFAULT_ALGORITHMS: frozenset[str] = frozenset({"ES384", "RS384"})
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset({"ES256", "ES384", "RS256", "RS384"})
DEFAULT_LEEWAY_S = 60
# CDS Hooks asks clients for short-lived tokens (5 minutes); an hour is generous and bounds how
# long a jti has to be remembered.
MAX_LIFETIME_S = 3600
MAX_TOKEN_CHARS = 16 * 1024
MAX_JTI_CHARS = 255
MAX_ISSUER_CHARS = 500
_COMPACT_JWS_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class AuthenticationFailed(Exception):
    """The request is not from a trusted client; ``reason`` is for debug logs only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReplayStoreUnavailable(Exception):
    """The replay check could not run (the database is down): not the client's fault, a 503."""


# Failure reasons as metric labels: a fixed, small set (rrmm_cds_auth_failures_total{reason}).
_LABELS: tuple[tuple[str, str], ...] = (
    ("no Authorization header", "missing"),
    ("not a Bearer credential", "malformed"),
    ("not a compact JWS", "malformed"),
    ("token unreadable", "malformed"),
    ("critical header", "malformed"),
    ("no kid", "malformed"),
    ("algorithm not allowed", "algorithm"),
    ("no usable iss", "issuer"),
    ("untrusted issuer", "issuer"),
    ("malformed jku", "jku"),
    ("jku not allow-listed", "jku"),
    ("JWKS", "jwks_unavailable"),
    ("unknown kid", "key"),
    ("key does not fit", "key"),
    ("token rejected (ExpiredSignatureError)", "expired"),
    ("token rejected (ImmatureSignatureError)", "not_yet_valid"),
    ("token rejected (InvalidAudienceError)", "audience"),
    ("token rejected (InvalidIssuerError)", "issuer"),
    ("token rejected (InvalidSignatureError)", "signature"),
    ("token rejected (DecodeError)", "malformed"),
    ("token rejected (MissingRequiredClaimError)", "claims"),
    ("token rejected (InvalidIssuedAtError)", "claims"),
    ("token rejected", "invalid"),
    ("audience", "audience"),
    ("iat in the future", "lifetime"),
    ("lifetime too long", "lifetime"),
    ("token too old", "lifetime"),
    ("time claim", "claims"),
    ("malformed jti", "claims"),
    ("jti replayed", "replay"),
)
REASON_LABELS: frozenset[str] = frozenset(label for _, label in _LABELS) | {"other"}


def reason_label(reason: str) -> str:
    """The bounded metric label of a failure reason ("other" for anything not listed)."""
    for prefix, label in _LABELS:
        if reason.startswith(prefix):
            return label
    return "other"


class ReplayGuard(Protocol):
    """What the verifier needs from the store: remember a jti, False if it was already seen."""

    def claim_jti(self, issuer: str, jti: str, expires_at: dt.datetime) -> bool: ...


@dataclass(frozen=True, slots=True)
class VerifiedClient:
    issuer: str
    subject: str | None
    claims: Mapping[str, Any]


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationFailed("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed("not a Bearer credential")
    if len(token) > MAX_TOKEN_CHARS or not _COMPACT_JWS_RE.match(token):
        raise AuthenticationFailed("not a compact JWS")
    return token


class ClientJwtVerifier:
    """Verifies client JWTs against the trusted issuers and a replay guard."""

    def __init__(
        self,
        issuers: Mapping[str, TrustedIssuer],
        replay_guard: ReplayGuard,
        *,
        algorithms: frozenset[str] = DEFAULT_ALGORITHMS,
        leeway_s: int = DEFAULT_LEEWAY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        unsupported = set(algorithms) - SUPPORTED_ALGORITHMS
        if unsupported or not algorithms:
            raise ValueError(f"unsupported JWT algorithms: {sorted(unsupported) or 'none given'}")
        self.issuers = dict(issuers)
        self.replay_guard = replay_guard
        self.algorithms = frozenset(algorithms)
        self.leeway_s = leeway_s
        self._clock = clock

    def verify(self, authorization: str | None, audiences: Sequence[str]) -> VerifiedClient:
        """Return the verified client or raise AuthenticationFailed."""
        try:
            return self._verify(authorization, audiences)
        except AuthenticationFailed:
            raise
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"token rejected ({type(exc).__name__})") from None
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            # Defensive: odd header/claim shapes reaching the crypto or date code.
            raise AuthenticationFailed(f"token unreadable ({type(exc).__name__})") from None

    def _verify(self, authorization: str | None, audiences: Sequence[str]) -> VerifiedClient:
        token = _bearer_token(authorization)
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise AuthenticationFailed("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationFailed("no kid")
        if "crit" in header:
            raise AuthenticationFailed("critical header extensions are not supported")
        unverified = jwt.decode(token, options={"verify_signature": False})
        issuer_name = unverified.get("iss")
        if not isinstance(issuer_name, str) or len(issuer_name) > MAX_ISSUER_CHARS:
            raise AuthenticationFailed("no usable iss")
        issuer = self.issuers.get(issuer_name)
        if issuer is None:
            raise AuthenticationFailed("untrusted issuer")
        jku = header.get("jku")
        if jku is not None and not isinstance(jku, str):
            raise AuthenticationFailed("malformed jku")
        source = issuer.key_source(jku)
        if source is None:
            raise AuthenticationFailed("jku not allow-listed")  # and never fetched
        try:
            key = source.get_key(kid)
        except JwksUnavailable as exc:
            raise AuthenticationFailed(exc.reason) from None  # not "unknown kid": the keys were not read
        if key is None:
            raise AuthenticationFailed("unknown kid")
        if not key.fits(alg):
            raise AuthenticationFailed("key does not fit the algorithm")
        for name in ("exp", "iat", "nbf"):
            if name in unverified and not _is_number(unverified[name]):
                raise AuthenticationFailed(f"time claim {name} is not a number")
        now = self._clock()
        claims = jwt.decode(
            token,
            key.jwk.key,
            algorithms=[alg],
            audience=list(audiences),
            issuer=issuer_name,
            leeway=self.leeway_s,
            options={
                "require": ["iss", "aud", "exp", "iat", "jti"],
                "verify_signature": True,
                "verify_exp": True,
                "verify_iat": True,
                "verify_nbf": True,
                "verify_aud": True,
                "verify_iss": True,
            },
        )
        # aud: exactly one value, the called URL (PyJWT accepts any list containing it).
        aud = claims["aud"]
        single = aud[0] if isinstance(aud, list) and len(aud) == 1 else aud
        if not isinstance(single, str) or single not in audiences:
            raise AuthenticationFailed("audience must be exactly the service URL")
        exp, iat = claims["exp"], claims["iat"]
        if iat > now + self.leeway_s:
            raise AuthenticationFailed("iat in the future")
        if now - iat > MAX_LIFETIME_S + self.leeway_s:
            raise AuthenticationFailed("token too old (iat)")
        if exp - now > MAX_LIFETIME_S:
            raise AuthenticationFailed("lifetime too long")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_CHARS:
            raise AuthenticationFailed("malformed jti")
        # Remember the jti until the token could no longer be accepted anyway.
        expires_at = dt.datetime.fromtimestamp(exp + self.leeway_s, dt.UTC)
        try:
            fresh = self.replay_guard.claim_jti(issuer_name, jti, expires_at)
        except Exception as exc:
            # Fail closed: without the replay check a captured token could be reused. But the
            # token may be fine: the caller answers 503 (try again), not 401 (bad credentials).
            logger.error(
                "replay check unavailable", extra={"event": "auth", "error_type": type(exc).__name__}
            )
            raise ReplayStoreUnavailable() from None
        if not fresh:
            raise AuthenticationFailed("jti replayed")
        subject = claims.get("sub")
        return VerifiedClient(issuer_name, subject if isinstance(subject, str) else None, claims)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def expected_audiences(public_base_url: str, path: str) -> list[str]:
    """The ``aud`` values acceptable for a request to ``path`` (computed, never from headers).

    Discovery and service calls: exactly the called URL.  Feedback: the feedback URL or the
    service URL (clients differ in which one they put in ``aud``).
    """
    base = public_base_url.rstrip("/")
    clean = "/" + path.strip("/")
    audiences = [base + clean]
    segments = clean.strip("/").split("/")
    if len(segments) == 3 and segments[0] == "cds-services" and segments[2] == "feedback":
        audiences.append(f"{base}/cds-services/{segments[1]}")
    return audiences
