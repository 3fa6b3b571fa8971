"""Per-server circuit breaker states and the bounded registry."""

from __future__ import annotations

from cds_service.security.circuit_breaker import CircuitBreaker, CircuitBreakers


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_recovers_after_a_successful_trial() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.now += 10
    assert breaker.state == "half-open"
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # nobody else while it runs
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_failed_trial_reopens_for_a_full_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 5
    assert not breaker.allow()


def test_a_trial_that_never_reports_does_not_block_forever() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    clock.now += 10
    assert breaker.allow()


def test_registry_keys_by_server_base_and_is_bounded() -> None:
    registry = CircuitBreakers(max_servers=2)
    a = registry.for_server("https://fhir.test/r4/")
    assert registry.for_server("HTTPS://FHIR.test/r4") is a
    assert registry.for_server("https://fhir.test/other") is not a
    registry.for_server("https://third.test/")
    assert registry.for_server("https://fhir.test/r4") is not a  # evicted as least recently used
