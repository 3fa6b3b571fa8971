"""Per-client rate limits on hook calls and feedback: a token bucket per client issuer.

Each verified client (its JWT ``iss``) may send ``RRMM_CDS_RATE_BURST`` requests at once and
``RRMM_CDS_RATE_LIMIT`` per second on average to ``POST /cds-services/{id}`` and its feedback
URL; beyond that it gets 429 with ``Retry-After`` (seconds until a request would be accepted) and
an OperationOutcome ``throttled``. The buckets live in each worker process: the service as a whole
accepts up to (workers x replicas) times the rate. Without client authentication (development)
there is no issuer and no limit; ``RRMM_CDS_RATE_LIMIT=0`` turns the limit off.

The timeline's ``POST /timeline/api/explain`` runs the whole pipeline for whoever holds a card's
link token: once the token is verified it spends the same buckets (``spend``), keyed by a digest
of that token (held in memory only, never logged), so one leaked or scripted token cannot keep a
worker busy, and made-up tokens cannot fill the table.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, g, request

from cds_service.errors import CdsHttpError

_MAX_BUCKETS = 10_000  # issuers come from the trusted-issuer file; this only bounds memory


class TokenBuckets:
    def __init__(self, rate_per_s: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0.0 when allowed, else seconds until one is free."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                if len(self._buckets) >= _MAX_BUCKETS and key not in self._buckets:
                    self._buckets.clear()
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def install_rate_limits(app: Flask, settings: Any) -> TokenBuckets | None:
    """Throttle POSTs under /cds-services per verified client issuer (after client auth)."""
    if settings.rate_limit_per_s <= 0:
        return None
    buckets = TokenBuckets(settings.rate_limit_per_s, settings.rate_burst)
    app.extensions["rrmm_rate_limits"] = buckets

    @app.before_request
    def _throttle() -> None:
        issuer = g.get("client_issuer")
        if issuer is None or request.method != "POST" or not request.path.startswith("/cds-services/"):
            return
        spend(buckets, issuer)

    return buckets


def spend(buckets: TokenBuckets | None, key: str) -> None:
    """One request of ``key``: nothing when allowed (or no limits), else 429 with Retry-After."""
    if buckets is None:
        return
    wait = buckets.take(key)
    if wait > 0:
        error = CdsHttpError(429, "too many requests from this client; try again later", code="throttled")
        error.retry_after = max(1, math.ceil(wait))
        raise error
