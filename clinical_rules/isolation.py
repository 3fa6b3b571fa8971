"""Failure isolation between independent card families and order checks.

A failing rule yields a logged error and no card from that rule, never a 500 and never a wrong
card. Each independent family (treatment with its supportive care, salvage transplant, referral,
aggressive disease, work-up, data gaps; each order check) runs through :func:`isolated`: an
exception is logged with the family name and the exception *type* only — messages and tracebacks
may quote patient data — and the family yields nothing while the others are still given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def isolated(family: str, compute: Callable[[], T], failures: list[str] | None = None) -> T | None:
    """``compute()``, or None when it raises (logged; ``family`` appended to ``failures``)."""
    try:
        return compute()
    except Exception as exc:  # noqa: BLE001 - one family's bug must not silence the others
        log_failure(family, exc)
        if failures is not None:
            failures.append(family)
        return None


def log_failure(family: str, exc: BaseException) -> None:
    """Log a failed family: its name and the exception type, never the message or traceback."""
    log.error(
        "rule family failed; its cards are dropped",
        extra={"event": "rule_family_error", "family": family, "error_type": type(exc).__name__},
    )
