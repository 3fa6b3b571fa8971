"""Outbound FHIR reads for one hook call: the client's fhirServer, its token, our limits.

One :class:`FhirClient` lives for one hook call only, so a token can never leak into another call.
Every URL is brought to its normal form (``cds_service.fhir_urls``) and that form is checked
against the allow-list and the fhirServer base before a connection is made, and is what is sent;
redirects are never followed automatically (each hop is checked), and the bearer token is sent
only to URLs under the fhirServer base. Each attempt has a wall-clock deadline (the per-request
timeout, never beyond the call's fetch budget) covering connection, headers and body; failures
are retried a bounded number of times; all requests together share one deadline (the budget) and
one allowance of fetched bytes and resources.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from cds_service import fhir_urls
from cds_service.outbound_http import DeadlineExceeded, deadline, deadline_session
from cds_service.security.circuit_breaker import FHIR_SERVER_BREAKERS, CircuitBreakers

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# A runaway-pagination guard only: the fetch budget and allowance are what really bound a search.
MAX_PAGES_PER_SEARCH = 1000
MAX_REDIRECTS = 3
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_BACKOFF_SECONDS = 0.2
_READ_CHUNK = 64 * 1024
# urllib3 parses Retry-After (seconds or an HTTP date); we apply it inside our own loop because
# the wait must also respect the shared fetch budget and the per-server circuit breaker.
_RETRY_AFTER = Retry(total=0, respect_retry_after_header=True)


class FhirError(Exception):
    """The FHIR server could not give us what we asked for (reason is safe to log)."""

    transient = False

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class FhirNotFound(FhirError):
    """The server answered 404/410."""


class FhirUnavailable(FhirError):
    """The server could not deliver now (5xx, 429, timeouts, circuit open) after the retries."""

    transient = True

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class FetchLimitExceeded(FhirError):
    """The call's allowance of fetched bytes or resources is used up (``limit`` names it)."""

    def __init__(self, limit: str, value: int) -> None:
        super().__init__(f"fetch limit reached: {limit}")
        self.limit = limit
        self.value = value


@dataclass
class FetchAllowance:
    """Bytes and resources all fetches of one hook call may bring in together (thread-safe)."""

    max_bytes: int
    max_resources: int
    bytes_read: int = 0
    resources_read: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def charge_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes_read += count
            if self.bytes_read > self.max_bytes:
                raise FetchLimitExceeded("RRMM_CDS_FETCH_MAX_BYTES", self.max_bytes)

    def charge_resources(self, count: int) -> None:
        with self._lock:
            self.resources_read += count
            if self.resources_read > self.max_resources:
                raise FetchLimitExceeded("RRMM_CDS_FETCH_MAX_RESOURCES", self.max_resources)


def unlimited() -> FetchAllowance:
    return FetchAllowance(max_bytes=1 << 62, max_resources=1 << 62)


_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: bytes = b""
    location: str | None = None
    retry_after: float | None = None


class FhirClient:
    """Reads from one FHIR server within a shared deadline and allowance."""

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
        allowance: FetchAllowance | None = None,
    ) -> None:
        problem = fhir_urls.fhir_server_problem(base_url)
        # An unusable base is kept as given: every URL under it is refused before any connection.
        self.base_url = fhir_urls.fhir_server_base(base_url) if problem is None else base_url.rstrip("/")
        self._usable = problem is None
        self._token = access_token
        self._permits = permits
        self._timeout = timeout
        self._retries = retries
        self._monotonic = monotonic
        self._deadline = monotonic() + budget
        self._session = session or deadline_session()
        # Never pick up proxies or ~/.netrc credentials from the environment.
        self._session.trust_env = False
        self.allowance = allowance or unlimited()
        # Shared by every call to this server in the process: a failing server is skipped fast.
        self.breaker = (breakers or FHIR_SERVER_BREAKERS).for_server(self.base_url)
        # Several keys are fetched in parallel threads through one client: count under a lock.
        self._counter_lock = threading.Lock()
        self.requests_made = 0
        self.errors = 0
        self.in_flight = 0
        self.peak_in_flight = 0

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
        """True when ``url``, in its normal form, is on the fhirServer (origin and path prefix)."""
        normal = fhir_urls.normalise(url)
        return self._usable and normal is not None and self._under_base(normal)

    def get_json(self, url: str) -> dict[str, Any]:
        """GET ``url`` with retries; follow permitted redirects by hand; return a JSON object."""
        for _hop in range(MAX_REDIRECTS + 1):
            normal = fhir_urls.normalise(url)
            if (
                normal is None
                or not self._usable
                or not self._under_base(normal)
                or not self._permits(normal)
            ):
                raise FhirError("url outside the fhirServer or not on the allow-list")
            reply = self._get_with_retries(normal)
            if reply.status in _REDIRECT_STATUSES:
                if not reply.location:
                    raise FhirError("redirect without a location", status=reply.status)
                url = urljoin(normal, reply.location)
                continue
            document = self._json_body(reply)
            self._charge_resources(document)
            return document
        raise FhirError("too many redirects")

    def remaining(self) -> float:
        return self._deadline - self._monotonic()

    # -- internals -----------------------------------------------------------------------------
    def _under_base(self, normal: str) -> bool:
        return fhir_urls.is_under_base(normal, self.base_url) and not _has_userinfo(normal)

    def _count(self, *, made: int = 0, errors: int = 0, in_flight: int = 0) -> None:
        with self._counter_lock:
            self.requests_made += made
            self.errors += errors
            self.in_flight += in_flight
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _get_with_retries(self, url: str) -> _Reply:
        last_error = "no attempt made"
        last_status: int | None = None
        retry_after: float | None = None
        for attempt in range(self._retries + 1):
            remaining = self.remaining()
            if remaining <= 0:
                raise FhirUnavailable("fetch budget exhausted", status=last_status, retry_after=retry_after)
            if attempt:
                pause = _BACKOFF_SECONDS * 2 ** (attempt - 1)
                if retry_after is not None:
                    if retry_after >= remaining:
                        raise FhirUnavailable(
                            "FHIR server asked us to retry after the fetch budget",
                            status=last_status,
                            retry_after=retry_after,
                        )
                    pause = max(pause, retry_after)
                time.sleep(min(pause, remaining / 2 if retry_after is None else remaining))
            if not self.breaker.allow():
                self._count(errors=1)
                raise FhirUnavailable(
                    "FHIR server skipped after repeated failures (circuit open)",
                    retry_after=self.breaker.seconds_until_trial(),
                )
            try:
                reply = self._attempt(url, min(self._timeout, max(self.remaining(), 0.01)))
            except requests.RequestException as exc:
                self.breaker.record_failure()
                self._count(errors=1)
                last_error = "timeout" if isinstance(exc, requests.Timeout) else type(exc).__name__
                self._log_failure(attempt, error_type=last_error)
                continue
            if reply.status in _RETRY_STATUSES:
                self.breaker.record_failure()
                self._count(errors=1)
                last_error, last_status = f"HTTP {reply.status}", reply.status
                retry_after = reply.retry_after
                self._log_failure(attempt, status=reply.status)
                continue
            self.breaker.record_success()
            return reply
        raise FhirUnavailable(
            f"FHIR server unavailable ({last_error})", status=last_status, retry_after=retry_after
        )

    def _attempt(self, url: str, seconds: float) -> _Reply:
        """One GET with a wall-clock deadline over connection, headers and the whole body."""
        headers = {"Accept": "application/fhir+json, application/json"}
        if self._token and self._under_base(url):
            headers["Authorization"] = f"Bearer {self._token}"
        self._count(made=1, in_flight=1)
        try:
            with deadline(seconds):
                response = self._session.get(
                    url, headers=headers, timeout=seconds, allow_redirects=False, stream=True
                )
                with response:
                    status = response.status_code
                    if status in _RETRY_STATUSES:
                        return _Reply(status, retry_after=_retry_after_seconds(response))
                    if status in _REDIRECT_STATUSES:
                        return _Reply(status, location=response.headers.get("Location"))
                    if not 200 <= status < 300:
                        return _Reply(status)
                    return _Reply(status, self._read_limited(response))
        except DeadlineExceeded:
            raise requests.Timeout("wall-clock deadline") from None
        finally:
            self._count(in_flight=-1)

    def _log_failure(self, attempt: int, *, status: int | None = None, error_type: str | None = None) -> None:
        extra: dict[str, Any] = {
            "event": "fhir_fetch",
            "host": urlsplit(self.base_url).hostname,
            "attempt": attempt + 1,
        }
        if status is not None:
            extra["status"] = status
        if error_type is not None:
            extra["error_type"] = error_type
        log.warning("FHIR server error" if status else "FHIR request failed", extra=extra)

    def _json_body(self, reply: _Reply) -> dict[str, Any]:
        status = reply.status
        if status in (404, 410):
            raise FhirNotFound(f"HTTP {status}", status=status)
        if not 200 <= status < 300:
            raise FhirError(f"HTTP {status}", status=status)
        try:
            document = orjson.loads(reply.body)
        except orjson.JSONDecodeError:
            raise FhirError("response is not JSON", status=status) from None
        if not isinstance(document, dict):
            raise FhirError("response is not a JSON object", status=status)
        return document

    def _read_limited(self, response: requests.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=_READ_CHUNK):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise FhirError("response too large")
            self.allowance.charge_bytes(len(chunk))
            chunks.append(chunk)
        return b"".join(chunks)

    def _charge_resources(self, document: dict[str, Any]) -> None:
        if document.get("resourceType") == "Bundle":
            entries = document.get("entry")
            self.allowance.charge_resources(len(entries) if isinstance(entries, list) else 0)
        elif document.get("resourceType") != "OperationOutcome":
            self.allowance.charge_resources(1)


def _has_userinfo(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return True
    return bool(parts.username or parts.password or "@" in parts.netloc)


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
