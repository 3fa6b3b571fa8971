"""Prometheus metrics of the service, valid in one process and under multi-worker gunicorn.

Under gunicorn every worker is a separate process; prometheus-client's multiprocess mode keeps each
worker's samples in files under ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` merges them. The
variable must be set before ``prometheus_client`` is imported (``deploy/gunicorn.conf.py`` does
this); without it, metrics live in this process's default registry.

Label values are bounded sets (service ids the app knows, URL rule templates, topic codes, short
reason words): never request content, never patient data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# Hook calls are budgeted at a few hundred ms; the buckets resolve that range finely and still
# show outliers up to the fetch budget.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "rrmm_cds_http_requests_total",
    "HTTP requests answered, by service id, endpoint (URL rule) and status code.",
    ["service", "endpoint", "method", "status"],
)
REQUEST_LATENCY = Histogram(
    "rrmm_cds_http_request_duration_seconds",
    "Time from request start to response, by service id and endpoint (URL rule).",
    ["service", "endpoint"],
    buckets=LATENCY_BUCKETS,
)
CARDS = Counter(
    "rrmm_cds_cards_total",
    "Cards returned, by service id and card topic code.",
    ["service", "topic"],
)
FETCH_ERRORS = Counter(
    "rrmm_cds_fetch_errors_total",
    "Failed FHIR fetches (after retries) while answering a hook call, by service id.",
    ["service"],
)
AUTH_FAILURES = Counter(
    "rrmm_cds_auth_failures_total",
    "Rejected client JWTs, by reason (missing, algorithm, issuer, key, audience, expired, replay...).",
    ["reason"],
)
FEEDBACK_ITEMS = Counter(
    "rrmm_cds_feedback_items_total",
    "Feedback items received, by service id and outcome.",
    ["service", "outcome"],
)
AUDIT_WRITE_FAILURES = Counter(
    "rrmm_cds_audit_write_failures_total",
    "Audit-trail writes that failed (the response was still sent).",
)

CIRCUIT_OPENED = Counter(
    "rrmm_cds_fhir_circuit_opened_total",
    "Times a FHIR server's circuit breaker opened (its calls then get the transient refusal at once).",
)

_NO_TOPIC = "none"
_MAX_LABEL_LENGTH = 64


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render_latest() -> tuple[bytes, str]:
    """The exposition text for /metrics and its content type (merging workers when needed)."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def record_cards(service_id: str, cards: Iterable[Mapping[str, Any]]) -> None:
    """Count emitted cards by ``source.topic.code`` (see spec 04 §1)."""
    for card in cards:
        CARDS.labels(service=_bounded(service_id), topic=_bounded(card_topic(card) or _NO_TOPIC)).inc()


def record_fetch_errors(service_id: str, count: int = 1) -> None:
    FETCH_ERRORS.labels(service=_bounded(service_id)).inc(count)


def record_auth_failure(reason: str) -> None:
    AUTH_FAILURES.labels(reason=_bounded(reason)).inc()


def record_feedback(service_id: str, items: Iterable[Mapping[str, Any]]) -> None:
    """Count received feedback items by outcome (schema-validated: accepted | overridden)."""
    for item in items:
        outcome = item.get("outcome")
        label = outcome if outcome in ("accepted", "overridden") else "other"
        FEEDBACK_ITEMS.labels(service=_bounded(service_id), outcome=label).inc()


def record_unknown_card_feedback(service_id: str, count: int) -> None:
    """Feedback items acknowledged but discarded: their card was never returned by this service."""
    FEEDBACK_ITEMS.labels(service=_bounded(service_id), outcome="unknown_card").inc(count)


def card_topic(card: Mapping[str, Any]) -> str | None:
    source = card.get("source")
    topic = source.get("topic") if isinstance(source, Mapping) else None
    code = topic.get("code") if isinstance(topic, Mapping) else None
    return code if isinstance(code, str) and code else None


def _bounded(value: str) -> str:
    return value[:_MAX_LABEL_LENGTH]
