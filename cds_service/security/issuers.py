"""Trusted CDS clients: the issuer map and each issuer's signing keys (JWKS).

``RRMM_CDS_TRUSTED_ISSUERS`` names a JSON file::

    {
      "https://ehr.example.org/cds-client": {"jwks_url": "https://ehr.example.org/jwks.json",
                                              "jku": ["https://ehr.example.org/jwks.json"]},
      "https://conformance.invalid/client": {"jwks_file": "/etc/rrmm-cds/conformance-jwks.json"}
    }

Each issuer has exactly one of ``jwks_file`` / ``jwks_url`` and an optional ``jku`` list: the only
JWKS URLs that a token's ``jku`` header may point at.  A ``jku`` that is not on its issuer's list
is never fetched.  ``pinned_jwks_file`` (with ``jwks_url`` or alone) pins the issuer's published
keys to a local copy for offline testing: tokens naming an allow-listed ``jku`` (or none) are
verified against the file and no URL is ever fetched.

Keys are cached.  When a token names a ``kid`` the cache does not know, the source is re-read
(the client may have rotated its keys), but at most once per :data:`REFRESH_INTERVAL_S` per
source, so a flood of tokens with random kids cannot turn the service into a JWKS-fetching
amplifier.  Only asymmetric keys (EC, RSA) with a ``kid`` are kept; symmetric ("oct") keys are
ignored outright because HMAC is never accepted.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import requests
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from cds_service.outbound_http import deadline, deadline_session
from cds_service.security.allowlist import parse_http_url

logger = logging.getLogger(__name__)

REFRESH_INTERVAL_S = 30.0  # minimum time between two re-reads of one JWKS source
URL_CACHE_TTL_S = 3600.0  # a fetched JWKS is trusted for this long before a routine re-fetch
FETCH_TIMEOUT_S = 3.0
MAX_JWKS_BYTES = 512 * 1024
_KEY_TYPES = ("EC", "RSA")
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384"}


class IssuerConfigError(ValueError):
    """The trusted-issuer file is missing, unreadable or malformed."""


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A published verification key with the JWK members the verifier checks against the token."""

    kid: str
    kty: str
    crv: str | None
    alg: str | None  # as declared in the JWK; None when the JWK does not restrict it
    jwk: PyJWK

    def fits(self, alg: str) -> bool:
        """Can this key verify a signature made with ``alg`` (type, curve, declared alg)?"""
        if self.alg is not None and self.alg != alg:
            return False
        if alg.startswith("ES"):
            return self.kty == "EC" and self.crv == _EC_CURVES.get(alg)
        return self.kty == "RSA" and alg.startswith("RS")


def parse_jwks(document: Any) -> dict[str, TrustedKey]:
    """Usable signing keys of a JWKS document, by kid; unusable entries are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWKS must be an object with a 'keys' array")
    keys: dict[str, TrustedKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in _KEY_TYPES:
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[kid] = TrustedKey(kid, entry["kty"], entry.get("crv"), entry.get("alg"), PyJWK(entry))
        except (PyJWKError, ValueError, TypeError, KeyError):
            logger.warning("skipping an unusable key in a JWKS", extra={"event": "jwks"})
    return keys


class JwksUnavailable(Exception):
    """The token's key is not cached and its JWKS could not be read (``reason`` is safe to log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwksSource:
    """A cached set of keys read from somewhere, re-read on demand at a bounded rate.

    The lock only guards the cache: the read itself (network or file) happens outside it, by one
    thread at a time. Meanwhile other threads are answered from the cache at once: a known key is
    served even when stale; an unknown kid fails fast (:class:`JwksUnavailable`) instead of
    queueing behind a slow JWKS endpoint.
    """

    def __init__(self, label: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self._clock = clock
        self._keys: dict[str, TrustedKey] = {}
        self._loaded_at: float | None = None
        self._last_attempt: float | None = None
        self._last_error: str | None = None  # exception type of the last failed read
        self._refreshing = False
        self._lock = threading.Lock()

    def _read(self) -> dict[str, TrustedKey]:
        raise NotImplementedError

    def _stale(self, now: float) -> bool:
        return self._loaded_at is None

    def get_key(self, kid: str) -> TrustedKey | None:
        """The key for ``kid``; None when the JWKS (read fine) has no such key."""
        now = self._clock()
        with self._lock:
            key = self._keys.get(kid)
            if key is not None and not self._stale(now):
                return key
            recently = self._last_attempt is not None and now - self._last_attempt < REFRESH_INTERVAL_S
            if self._refreshing or recently:
                if key is not None:
                    return key  # stale but usable while (or shortly after) it is re-read
                if self._refreshing:
                    raise JwksUnavailable("JWKS refresh in progress")
                if self._last_error is not None:
                    raise JwksUnavailable(f"JWKS unreachable ({self._last_error})")
                return None
            self._refreshing = True
            self._last_attempt = now
        if key is not None:
            # A stale key still verifies: re-read in the background, answer now.
            threading.Thread(target=self._refresh, name="jwks-refresh", daemon=True).start()
            return key
        self._refresh()
        with self._lock:
            key = self._keys.get(kid)
            if key is None and self._last_error is not None:
                raise JwksUnavailable(f"JWKS unreachable ({self._last_error})")
            return key

    def _refresh(self) -> None:
        try:
            keys = self._read()
        except Exception as exc:  # a broken source must not take verification down with it
            with self._lock:
                self._last_error = type(exc).__name__
                self._refreshing = False
            logger.warning(
                "JWKS unreachable: could not read the signing keys",
                extra={"event": "jwks", "component": self.label, "error_type": type(exc).__name__},
            )
            return
        with self._lock:
            self._keys = keys
            self._loaded_at = self._clock()
            self._last_error = None
            self._refreshing = False


class FileJwksSource(JwksSource):
    """Keys from a local JWKS file, read at start-up; re-read when an unknown kid shows up."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(f"file:{path.name}", **kwargs)
        self.path = path
        try:
            self._keys = self._read()
        except (OSError, ValueError) as exc:
            raise IssuerConfigError(f"cannot read JWKS file {path}: {exc}") from None
        self._loaded_at = self._clock()
        if not self._keys:
            raise IssuerConfigError(f"JWKS file {path} holds no usable EC or RSA signing key with a kid")

    def _read(self) -> dict[str, TrustedKey]:
        return parse_jwks(orjson.loads(self.path.read_bytes()))


class UrlJwksSource(JwksSource):
    """Keys fetched over HTTPS (or loopback HTTP in development), cached for an hour."""

    def __init__(self, url: str, session: requests.Session | None = None, **kwargs: Any) -> None:
        super().__init__(f"url:{url}", **kwargs)
        self.url = url
        self._session = session or deadline_session()
        self._session.trust_env = False

    def _stale(self, now: float) -> bool:
        return self._loaded_at is None or now - self._loaded_at > URL_CACHE_TTL_S

    def _read(self) -> dict[str, TrustedKey]:
        # No redirects: the URL is the configured one and only that one. The deadline is wall
        # clock: a JWKS endpoint trickling bytes cannot hold a request past it.
        with (
            deadline(FETCH_TIMEOUT_S),
            self._session.get(
                self.url,
                timeout=FETCH_TIMEOUT_S,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/json"},
            ) as response,
        ):
            if response.status_code != 200:
                raise ValueError(f"JWKS endpoint answered {response.status_code}")
            body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
        if len(body) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document too large")
        return parse_jwks(orjson.loads(body))


@dataclass
class TrustedIssuer:
    """One trusted client: where its keys live and which jku URLs it may point at."""

    issuer: str
    keys: JwksSource
    jku_sources: dict[str, JwksSource] = field(default_factory=dict)

    def key_source(self, jku: str | None) -> JwksSource | None:
        """The source to look the token's kid up in; None when the jku is not allow-listed."""
        if jku is None:
            return self.keys
        return self.jku_sources.get(jku)


def _check_key_url(url: Any, what: str, *, production: bool) -> str:
    if not isinstance(url, str):
        raise IssuerConfigError(f"{what} must be a URL string")
    target = parse_http_url(url)
    if target is None:
        raise IssuerConfigError(f"{what} {url!r} is not an acceptable http(s) URL")
    if production and target.scheme != "https":
        raise IssuerConfigError(f"{what} {url!r} must use https in production")
    return url


def load_trusted_issuers(
    path: str | os.PathLike[str], *, production: bool, session: requests.Session | None = None
) -> dict[str, TrustedIssuer]:
    """Read and validate the trusted-issuer file; raise IssuerConfigError with the reason."""
    file = Path(path)
    try:
        document = orjson.loads(file.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise IssuerConfigError(f"cannot read trusted issuers file {file}: {exc}") from None
    if not isinstance(document, dict) or not document:
        raise IssuerConfigError(f"{file} must be a non-empty JSON object keyed by issuer")
    shared_session = session or deadline_session()
    shared_session.trust_env = False  # no proxies or ~/.netrc credentials from the environment
    issuers: dict[str, TrustedIssuer] = {}
    for issuer, spec in document.items():
        issuers[issuer] = _load_issuer(
            issuer, spec, file.parent, production=production, session=shared_session
        )
    return issuers


def _load_issuer(
    issuer: str, spec: Any, base_dir: Path, *, production: bool, session: requests.Session
) -> TrustedIssuer:
    if not issuer:
        raise IssuerConfigError("an issuer must be a non-empty string")
    if not isinstance(spec, Mapping):
        raise IssuerConfigError(f"issuer {issuer!r}: the value must be an object")
    unknown = set(spec) - {"jwks_file", "jwks_url", "jku", "pinned_jwks_file"}
    if unknown:
        raise IssuerConfigError(f"issuer {issuer!r}: unknown keys {sorted(unknown)}")
    pinned = "pinned_jwks_file" in spec
    if pinned and "jwks_file" in spec:
        raise IssuerConfigError(f"issuer {issuer!r}: pinned_jwks_file replaces URLs; use jwks_file alone")
    if not pinned and ("jwks_file" in spec) == ("jwks_url" in spec):
        raise IssuerConfigError(f"issuer {issuer!r}: give exactly one of jwks_file or jwks_url")
    jku_list = spec.get("jku", [])
    if not isinstance(jku_list, list):
        raise IssuerConfigError(f"issuer {issuer!r}: jku must be a list of URLs")
    jku_urls = [_check_key_url(item, f"issuer {issuer!r}: jku", production=production) for item in jku_list]
    url = (
        _check_key_url(spec["jwks_url"], f"issuer {issuer!r}: jwks_url", production=production)
        if "jwks_url" in spec
        else None
    )
    if pinned:
        # Offline testing: the issuer's published JWKS (its jwks_url and every allow-listed jku)
        # is read from a local copy; nothing is fetched.
        source = _file_source(issuer, "pinned_jwks_file", spec["pinned_jwks_file"], base_dir)
        logger.warning(
            "JWKS pinned to a local file: the issuer's key URLs are not fetched",
            extra={"event": "config", "component": source.label},
        )
        return TrustedIssuer(issuer, source, dict.fromkeys(jku_urls, source))
    source: JwksSource
    if "jwks_file" in spec:
        source = _file_source(issuer, "jwks_file", spec["jwks_file"], base_dir)
    else:
        assert url is not None
        source = UrlJwksSource(url, session)
    return TrustedIssuer(issuer, source, {jku: UrlJwksSource(jku, session) for jku in jku_urls})


def _file_source(issuer: str, name: str, value: Any, base_dir: Path) -> FileJwksSource:
    if not isinstance(value, str) or not value:
        raise IssuerConfigError(f"issuer {issuer!r}: {name} must be a path")
    path = Path(value)
    return FileJwksSource(path if path.is_absolute() else base_dir / path)
