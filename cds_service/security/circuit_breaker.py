"""Per-FHIR-server circuit breakers: a server that keeps failing is not called for a while.

Without this, every hook call for a site whose FHIR server is down would spend its whole fetch
budget on timeouts and retries, tying up worker threads; with it, calls fail fast (412) until a
cool-down has passed, then one trial request decides whether the server is back.

Breakers are per process and keyed by the fhirServer base URL (scheme, host, port, path), so two
FHIR endpoints on one host do not share a fate.  The registry is bounded (least recently used
entries are forgotten) because the keys come from requests.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

DEFAULT_FAILURE_THRESHOLD = 5  # consecutive failed attempts that open the circuit
DEFAULT_RESET_AFTER_S = 30.0  # how long an open circuit refuses calls before one trial
MAX_TRACKED_SERVERS = 1024


class CircuitBreaker:
    """Closed -> (threshold consecutive failures) -> open -> (cool-down) -> half-open trial."""

    def __init__(self, *, failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
                 reset_after_s: float = DEFAULT_RESET_AFTER_S,
                 clock: Callable[[], float] = time.monotonic,
                 on_open: Callable[[], None] | None = None) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._on_open = on_open  # told each time the circuit (re)opens (a metric)
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_started: float | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._clock() - self._opened_at >= self.reset_after_s:
                return "half-open"
            return "open"

    def seconds_until_trial(self) -> float | None:
        """How long an open circuit still refuses calls (a Retry-After hint); None when closed."""
        with self._lock:
            if self._opened_at is None:
                return None
            return max(self.reset_after_s - (self._clock() - self._opened_at), 0.0)

    def allow(self) -> bool:
        """May a request be sent now?  In half-open state only one trial at a time."""
        with self._lock:
            if self._opened_at is None:
                return True
            now = self._clock()
            if now - self._opened_at < self.reset_after_s:
                return False
            # A trial whose outcome was never recorded must not block the server forever.
            if self._trial_started is not None and now - self._trial_started < self.reset_after_s:
                return False
            self._trial_started = now
            return True

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_started = None

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            opens = self._trial_started is not None or (
                self._opened_at is None and self._failures >= self.failure_threshold
            )
            if self._trial_started is not None or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()  # (re)open: a failed trial restarts the cool-down
            self._trial_started = None
        if opens and self._on_open is not None:
            self._on_open()


class CircuitBreakers:
    """A bounded, thread-safe registry of breakers keyed by FHIR server base URL."""

    def __init__(self, factory: Callable[[], CircuitBreaker] = CircuitBreaker,
                 max_servers: int = MAX_TRACKED_SERVERS) -> None:
        self._factory = factory
        self._max = max_servers
        self._breakers: OrderedDict[str, CircuitBreaker] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(base_url: str) -> str:
        try:
            parts = urlsplit(base_url)
            return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port}{parts.path.rstrip('/')}"
        except ValueError:
            return base_url

    def for_server(self, base_url: str) -> CircuitBreaker:
        key = self.key(base_url)
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = self._breakers[key] = self._factory()
                while len(self._breakers) > self._max:
                    self._breakers.popitem(last=False)
            else:
                self._breakers.move_to_end(key)
            return breaker

    def clear(self) -> None:
        with self._lock:
            self._breakers.clear()


def _count_opening() -> None:
    from cds_service.observability import metrics  # lazily: prometheus_client after the prefork set-up

    metrics.CIRCUIT_OPENED.inc()


# One registry per process: every hook call to the same FHIR server shares its breaker.
FHIR_SERVER_BREAKERS = CircuitBreakers(lambda: CircuitBreaker(on_open=_count_opening))
