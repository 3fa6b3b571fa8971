"""Health, readiness, Prometheus metrics and the response audit trail (spec 01 §4).

Names are loaded lazily: importing this package must not import ``prometheus_client``, so that a
pre-fork master can still export ``PROMETHEUS_MULTIPROC_DIR`` first (see ``prefork``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
    from cds_service.observability.http import add_readiness_check, init_observability
    from cds_service.observability.metrics import (
        record_auth_failure,
        record_cards,
        record_feedback,
        record_fetch_errors,
        record_unknown_card_feedback,
    )
    from cds_service.observability.prefork import mark_worker_dead, prepare_multiprocess_directory

_EXPORTS = {
    "add_readiness_check": "cds_service.observability.http",
    "init_observability": "cds_service.observability.http",
    "record_auth_failure": "cds_service.observability.metrics",
    "record_cards": "cds_service.observability.metrics",
    "record_feedback": "cds_service.observability.metrics",
    "record_fetch_errors": "cds_service.observability.metrics",
    "record_unknown_card_feedback": "cds_service.observability.metrics",
    "mark_worker_dead": "cds_service.observability.prefork",
    "prepare_multiprocess_directory": "cds_service.observability.prefork",
}

__all__ = [
    "add_readiness_check",
    "init_observability",
    "mark_worker_dead",
    "prepare_multiprocess_directory",
    "record_auth_failure",
    "record_cards",
    "record_feedback",
    "record_fetch_errors",
    "record_unknown_card_feedback",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
