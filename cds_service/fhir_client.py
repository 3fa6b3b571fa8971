"""Outbound FHIR reads for one hook call: the client's fhirServer, its token, our limits.

One :class:`FhirClient` lives for one hook call only, so a token can never leak into another call.
Every URL is checked against the allow-list before a connection is made; redirects are never
followed automatically (each hop is checked), and the bearer token is sent only to URLs under
the fhirServer base. Each request has a timeout, failures are retried a bounded number of times,
and all requests together share one deadline (the fetch budget).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from cds_service.security.circuit_breaker import FHIR_SERVER_BREAKERS, CircuitBreakers

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# A runaway-pagination guard only: the fetch budget is what really bounds a search.
MAX_PAGES_PER_SEARCH = 1000
MAX_REDIRECTS = 3
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_BACKOFF_SECONDS = 0.2
# urllib3 parses Retry-After (seconds or an HTTP date); we apply it inside our own loop because
# the wait must also respect the shared fetch budget and the per-server circuit breaker.
_RETRY_AFTER = Retry(total=0, respect_retry_after_header=True)


class FhirError(Exception):
    """The FHIR server could not give us what we asked for (reason is safe to log)."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class FhirNotFound(FhirError):
    """The server answered 404/410 for a read."""


def has_userinfo(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return True
    return bool(parts.username or parts.password or "@" in parts.netloc)


class FhirClient:
    """Reads from one FHIR server within a shared deadline."""

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None,
        permits: Callable[[str], bool],
        timeout: float,
        retries: int,
        budget: float,
        session: requests.Session | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        breakers: CircuitBreakers | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = urlsplit(self.base_url)
        self._token = access_token
        self._permits = permits
        self._timeout = timeout
        self._retries = retries
        self._monotonic = monotonic
        self._deadline = monotonic() + budget
        self._session = session or requests.Session()
        # Shared by every call to this server in the process: a failing server is skipped fast.
        self._breaker = (breakers or FHIR_SERVER_BREAKERS).for_server(self.base_url)
        # Never pick up proxies or ~/.netrc credentials from the environment.
        self._session.trust_env = False
        # Several keys may be fetched in parallel threads through one client: count under a lock.
        self._counter_lock = threading.Lock()
        self.requests_made = 0
        self.errors = 0

    # -- public --------------------------------------------------------------------------------
    def read(self, relative: str) -> dict[str, Any]:
        """GET ``[base]/<relative>`` (e.g. ``Medication/123``) and return the resource."""
        return self.get_json(self.absolute(relative))

    def search(self, relative: str) -> Iterator[dict[str, Any]]:
        """GET a search and yield every page (Bundle), following ``next`` links."""
        yield from self.pages(self.absolute(relative))

    def pages(self, url: str) -> Iterator[dict[str, Any]]:
        """Yield the page at ``url`` and every page its ``next`` links lead to."""
        seen: set[str] = set()
        for _ in range(MAX_PAGES_PER_SEARCH):
            if url in seen:
                return  # a server that links a page to itself: stop rather than loop
            seen.add(url)
            page = self.get_json(url)
            yield page
            next_url = next_link(page)
            if next_url is None:
                return
            url = urljoin(url, next_url)
        raise FhirError("too many pages")

    def absolute(self, relative: str) -> str:
        return f"{self.base_url}/{relative.lstrip('/')}"

    def is_under_base(self, url: str) -> bool:
        """True when ``url`` is on the fhirServer (same scheme, host, port, path prefix)."""
        try:
            parts = urlsplit(url)
            same_origin = (parts.scheme, parts.hostname, parts.port) == (
                self._base.scheme,
                self._base.hostname,
                self._base.port,
            )
        except ValueError:
            return False
        base_path = self._base.path.rstrip("/")
        path_ok = parts.path == base_path or parts.path.startswith(base_path + "/")
        return same_origin and path_ok and not has_userinfo(url)

    def get_json(self, url: str) -> dict[str, Any]:
        """GET ``url`` with retries; follow permitted redirects by hand; return a JSON object."""
        for _hop in range(MAX_REDIRECTS + 1):
            if not self.is_under_base(url) or not self._permits(url):
                raise FhirError("url outside the fhirServer or not on the allow-list")
            response = self._get_with_retries(url)
            if response.is_redirect:
                location = response.headers.get("Location")
                response.close()
                if not location:
                    raise FhirError("redirect without a location", status=response.status_code)
                url = urljoin(url, location)
                continue
            return self._json_body(response)
        raise FhirError("too many redirects")

    # -- internals -----------------------------------------------------------------------------
    def _count(self, *, made: int = 0, errors: int = 0) -> None:
        with self._counter_lock:
            self.requests_made += made
            self.errors += errors

    def _remaining(self) -> float:
        return self._deadline - self._monotonic()

    def _get_with_retries(self, url: str) -> requests.Response:
        last_error = "no attempt made"
        retry_after: float | None = None
        for attempt in range(self._retries + 1):
            remaining = self._remaining()
            if remaining <= 0:
                raise FhirError("fetch budget exhausted")
            if attempt:
                pause = _BACKOFF_SECONDS * 2 ** (attempt - 1)
                if retry_after is not None:
                    if retry_after >= remaining:
                        raise FhirError("FHIR server asked us to retry after the fetch budget")
                    pause = max(pause, retry_after)
                time.sleep(min(pause, remaining / 2 if retry_after is None else remaining))
            if not self._breaker.allow():
                self._count(errors=1)
                raise FhirError("FHIR server skipped after repeated failures (circuit open)")
            try:
                response = self._send(url, min(self._timeout, max(self._remaining(), 0.01)))
            except requests.RequestException as exc:
                self._breaker.record_failure()
                self._count(errors=1)
                last_error = type(exc).__name__
                log.warning(
                    "FHIR request failed",
                    extra={
                        "event": "fhir_fetch",
                        "host": self._base.hostname,
                        "attempt": attempt + 1,
                        "error_type": last_error,
                    },
                )
                continue
            if response.status_code in _RETRY_STATUSES:
                self._breaker.record_failure()
                self._count(errors=1)
                last_error = f"HTTP {response.status_code}"
                retry_after = _retry_after_seconds(response)
                log.warning(
                    "FHIR server error",
                    extra={
                        "event": "fhir_fetch",
                        "host": self._base.hostname,
                        "attempt": attempt + 1,
                        "status": response.status_code,
                    },
                )
                response.close()
                continue
            self._breaker.record_success()
            return response
        raise FhirError(f"FHIR server unavailable ({last_error})")

    def _send(self, url: str, timeout: float) -> requests.Response:
        headers = {"Accept": "application/fhir+json, application/json"}
        if self._token and self.is_under_base(url):
            headers["Authorization"] = f"Bearer {self._token}"
        self._count(made=1)
        return self._session.get(url, headers=headers, timeout=timeout, allow_redirects=False, stream=True)

    def _json_body(self, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        try:
            if status in (404, 410):
                raise FhirNotFound(f"HTTP {status}", status=status)
            if not 200 <= status < 300:
                raise FhirError(f"HTTP {status}", status=status)
            body = self._read_limited(response)
        finally:
            response.close()
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise FhirError("response is not JSON", status=status) from None
        if not isinstance(document, dict):
            raise FhirError("response is not a JSON object", status=status)
        return document

    def _read_limited(self, response: requests.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise FhirError("response too large")
                # A server that trickles bytes never trips the read timeout: enforce the budget here.
                if self._remaining() <= 0:
                    raise FhirError("fetch budget exhausted")
                chunks.append(chunk)
        except requests.RequestException as exc:
            self._count(errors=1)
            raise FhirError(f"reading the response failed ({type(exc).__name__})") from None
        return b"".join(chunks)


def _retry_after_seconds(response: requests.Response) -> float | None:
    """The server's Retry-After (429/503), in seconds, or None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(_RETRY_AFTER.parse_retry_after(value), 0.0)
    except (InvalidHeader, ValueError, OverflowError):
        return None


def next_link(bundle: Any) -> str | None:
    """The ``next`` link URL of a Bundle, if it has a usable one."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and url.strip():
                return url.strip()
    return None
