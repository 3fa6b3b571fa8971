"""The fhirServer allow-list: which FHIR servers the service may contact (SSRF guard, spec 01 §3).

The setting ``RRMM_CDS_FHIR_ALLOWLIST`` is a comma-separated list of origins
``scheme://host[:port]``.  An entry without a port allows any port on that host; an entry with a
port allows exactly that port (the scheme's default port when the URL has none).  Matching is
done on the parsed URL (scheme, host, port), never as a string prefix, so
``http://127.0.0.1.evil.example`` does not match ``http://127.0.0.1``.

A URL is refused when the two URL parsers involved disagree about where it points (the standard
library parser used here and urllib3's, which ``requests`` uses to connect), when it carries
userinfo (``http://127.0.0.1:P@127.0.0.2:Q/`` is a classic trick), or when it contains
whitespace, control characters, backslashes or non-ASCII characters in the authority - all of
which parsers treat differently.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from dataclasses import dataclass

from urllib3.util import parse_url

logger = logging.getLogger(__name__)

_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Characters that different URL parsers handle differently; any of them makes a URL unusable.
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
# A host as it may appear in an allow-list entry or URL authority: DNS name, IPv4, or IPv6 literal.
_HOST_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|[0-9a-f:.]+)$"
)


@dataclass(frozen=True, slots=True)
class AllowedOrigin:
    """One allow-list entry; ``port`` None means any port on the host."""

    scheme: str
    host: str
    port: int | None

    def matches(self, scheme: str, host: str, port: int) -> bool:
        return self.scheme == scheme and self.host == host and (self.port is None or self.port == port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port is not None else "")


@dataclass(frozen=True, slots=True)
class HttpTarget:
    scheme: str
    host: str
    port: int


def parse_http_url(url: str) -> HttpTarget | None:
    """Parse an absolute http(s) URL into scheme/host/port, or None if it is unsafe or ambiguous."""
    if not isinstance(url, str) or not url or len(url) > 8192 or _UNSAFE_CHARS.search(url):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.netloc or not parts.netloc.isascii():
        return None
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return None
    host = (parts.hostname or "").lower()
    if not host or not _HOST_RE.match(host):
        return None
    effective_port = port if port is not None else _DEFAULT_PORTS[scheme]
    # Second opinion from the parser the HTTP client will actually use.
    try:
        other = parse_url(url)
    except Exception:  # urllib3 raises LocationParseError and friends for odd input
        return None
    other_host = (other.host or "").lower().strip("[]")
    other_port = other.port if other.port is not None else _DEFAULT_PORTS.get((other.scheme or "").lower())
    if (
        other.auth
        or other_host != host
        or other_port != effective_port
        or (other.scheme or "").lower() != scheme
    ):
        return None
    return HttpTarget(scheme, host, effective_port)


def _parse_entry(entry: str) -> AllowedOrigin:
    """Parse one ``scheme://host[:port]`` entry; raise ValueError with the reason if it is not one."""
    if _UNSAFE_CHARS.search(entry):
        raise ValueError(f"allow-list entry {entry!r} contains whitespace or control characters")
    try:
        parts = urllib.parse.urlsplit(entry)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"allow-list entry {entry!r} is not a valid origin: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"allow-list entry {entry!r} must start with http:// or https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError(f"allow-list entry {entry!r} must not contain userinfo")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"allow-list entry {entry!r} must be an origin (no path, query or fragment)")
    host = (parts.hostname or "").lower()
    if not host or not _HOST_RE.match(host):
        raise ValueError(f"allow-list entry {entry!r} has no valid host")
    return AllowedOrigin(scheme, host, port)


class FhirAllowlist:
    """The set of FHIR server origins the service may contact."""

    def __init__(self, origins: tuple[AllowedOrigin, ...], *, production: bool) -> None:
        self.origins = origins
        self.production = production

    @classmethod
    def from_setting(cls, value: str | None, *, production: bool) -> FhirAllowlist:
        """Build the allow-list from the ``RRMM_CDS_FHIR_ALLOWLIST`` value.

        Unset or blank: loopback only (http or https) in development; nothing at all in
        production.  In production every entry must be https.  Raises ValueError on a bad entry,
        so a misconfigured service refuses to start instead of silently allowing less or more.
        """
        entries = [item.strip() for item in (value or "").split(",") if item.strip()]
        if not entries:
            if production:
                logger.warning(
                    "no FHIR server allow-list configured: the service will not fetch any data",
                    extra={"event": "config"},
                )
                return cls((), production=True)
            return cls.loopback(production=False)
        origins = tuple(_parse_entry(entry) for entry in entries)
        if production:
            insecure = [str(origin) for origin in origins if origin.scheme != "https"]
            if insecure:
                raise ValueError(f"https is required in production; not allowed: {', '.join(insecure)}")
        return cls(origins, production=production)

    @classmethod
    def loopback(cls, *, production: bool = False) -> FhirAllowlist:
        schemes = ("https",) if production else _SCHEMES
        return cls(
            tuple(AllowedOrigin(s, h, None) for h in _LOOPBACK_HOSTS for s in schemes), production=production
        )

    def permits(self, url: str) -> bool:
        """True only if ``url`` is an unambiguous http(s) URL on an allowed origin."""
        target = parse_http_url(url)
        if target is None:
            return False
        if self.production and target.scheme != "https":
            return False
        return any(origin.matches(target.scheme, target.host, target.port) for origin in self.origins)

    def __repr__(self) -> str:
        return f"FhirAllowlist([{', '.join(map(str, self.origins))}], production={self.production})"
