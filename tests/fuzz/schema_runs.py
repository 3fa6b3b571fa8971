"""Running every operation of a schemathesis schema against the app: never a 5xx."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings

SUPPRESSED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much,
              HealthCheck.data_too_large]


def fuzz_settings(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None, suppress_health_check=SUPPRESSED)


def statuses_without_server_errors(operations: Iterable[Any], examples: settings) -> list[int]:
    """Call each operation with generated cases; fail on the first 5xx; the statuses seen."""
    statuses: list[int] = []
    for operation in operations:

        @examples
        @given(case=operation.as_strategy())
        def no_server_error(case: Any) -> None:
            response = case.call()
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"

        no_server_error()
    return statuses
