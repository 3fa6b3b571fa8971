"""Each opening of a FHIR server's circuit is told to its observer and counted in /metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest

from cds_service.observability import metrics
from cds_service.security.circuit_breaker import FHIR_SERVER_BREAKERS, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opening_and_reopening_are_reported_once_each() -> None:
    openings: list[float] = []
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=10, clock=clock,
                             on_open=lambda: openings.append(clock.now))
    breaker.record_failure()
    assert openings == []
    breaker.record_failure()
    assert openings == [0.0]
    breaker.record_failure()  # already open: not a new opening
    assert openings == [0.0]
    clock.now = 11.0
    assert breaker.allow()  # the half-open trial ...
    breaker.record_failure()  # ... fails: the circuit opens again
    assert openings == [0.0, 11.0]
    breaker.record_success()
    assert breaker.state == "closed"


def test_the_process_registry_counts_openings_in_the_metric() -> None:
    before = metrics.CIRCUIT_OPENED._value.get()
    breaker = FHIR_SERVER_BREAKERS.for_server("http://127.0.0.1:1/fhir-circuit-metric-test")
    for _ in range(breaker.failure_threshold):
        breaker.record_failure()
    try:
        assert metrics.CIRCUIT_OPENED._value.get() == before + 1
        # This process's registry (render_latest() reads the multiprocess files when another test
        # has switched that mode on).
        assert b"rrmm_cds_fhir_circuit_opened_total" in generate_latest(REGISTRY)
    finally:
        FHIR_SERVER_BREAKERS.clear()
