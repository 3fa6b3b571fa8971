"""Health, readiness and Prometheus metrics (spec 01 §4)."""

from cds_service.observability.http import add_readiness_check, init_observability
from cds_service.observability.metrics import (
    mark_worker_dead,
    prepare_multiprocess_directory,
    record_auth_failure,
    record_cards,
    record_feedback,
    record_fetch_errors,
)

__all__ = [
    "mark_worker_dead",
    "prepare_multiprocess_directory",
    "add_readiness_check",
    "init_observability",
    "record_auth_failure",
    "record_cards",
    "record_feedback",
    "record_fetch_errors",
]
