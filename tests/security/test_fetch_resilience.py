"""Outbound FHIR fetches: allow-list on every hop, retries, circuit breaker, time budget."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import responses

from cds_service.fhir_client import FhirClient, FhirError
from cds_service.security.allowlist import FhirAllowlist
from cds_service.security.circuit_breaker import CircuitBreaker, CircuitBreakers

BASE = "http://127.0.0.1:9999/fhir"
ALLOW = FhirAllowlist.from_setting("http://127.0.0.1", production=False)


def client(base: str = BASE, *, breakers: CircuitBreakers | None = None, budget: float = 5.0,
           timeout: float = 2.0, retries: int = 2) -> FhirClient:
    return FhirClient(base, access_token="secret-token", permits=ALLOW.permits, timeout=timeout,
                      retries=retries, budget=budget, breakers=breakers)


@responses.activate
def test_retries_on_transient_statuses_then_succeeds() -> None:
    url = f"{BASE}/Patient/p1"
    responses.get(url, status=503)
    responses.get(url, status=429)
    responses.get(url, json={"resourceType": "Patient", "id": "p1"})
    assert client().read("Patient/p1")["id"] == "p1"
    assert len(responses.calls) == 3


@responses.activate
def test_retry_after_is_honoured_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("cds_service.fhir_client.time.sleep", pauses.append)
    url = f"{BASE}/Patient/p1"
    responses.get(url, status=429, headers={"Retry-After": "1"})
    responses.get(url, json={"resourceType": "Patient", "id": "p1"})
    assert client(budget=5.0).read("Patient/p1")["id"] == "p1"
    assert pauses == [1.0]


@responses.activate
def test_retry_after_beyond_the_budget_gives_up_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("cds_service.fhir_client.time.sleep", pauses.append)
    responses.get(f"{BASE}/Patient/p1", status=503, headers={"Retry-After": "120"})
    with pytest.raises(FhirError, match="retry after"):
        client(budget=5.0).read("Patient/p1")
    assert pauses == []
    assert len(responses.calls) == 1


@responses.activate
def test_unreadable_retry_after_falls_back_to_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("cds_service.fhir_client.time.sleep", pauses.append)
    url = f"{BASE}/Patient/p1"
    responses.get(url, status=503, headers={"Retry-After": "soon"})
    responses.get(url, json={"resourceType": "Patient", "id": "p1"})
    assert client().read("Patient/p1")["id"] == "p1"
    assert pauses == [0.2]


@responses.activate
def test_circuit_opens_and_later_calls_fail_fast_without_network() -> None:
    breakers = CircuitBreakers(lambda: CircuitBreaker(failure_threshold=3, reset_after_s=60))
    responses.get(f"{BASE}/Patient/p1", status=502)
    with pytest.raises(FhirError):
        client(breakers=breakers).read("Patient/p1")
    sent = len(responses.calls)
    assert sent == 3
    started = time.monotonic()
    with pytest.raises(FhirError, match="circuit open"):
        client(breakers=breakers).read("Patient/p1")  # a new hook call, same server
    assert len(responses.calls) == sent
    assert time.monotonic() - started < 0.5


@responses.activate
def test_other_servers_are_not_affected_by_an_open_circuit() -> None:
    breakers = CircuitBreakers(lambda: CircuitBreaker(failure_threshold=1, reset_after_s=60))
    responses.get(f"{BASE}/Patient/p1", status=503)
    responses.get("http://127.0.0.1:9999/other/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    with pytest.raises(FhirError):
        client(breakers=breakers, retries=0).read("Patient/p1")
    assert client("http://127.0.0.1:9999/other", breakers=breakers).read("Patient/p1")["id"] == "p1"


@responses.activate
def test_redirect_off_the_allow_list_is_not_followed() -> None:
    responses.get(f"{BASE}/Patient/p1", status=302, headers={"Location": "http://127.0.0.2:9999/fhir/Patient/p1"})
    responses.get("http://127.0.0.2:9999/fhir/Patient/p1", json={"resourceType": "Patient"})
    with pytest.raises(FhirError):
        client().read("Patient/p1")
    assert [c.request.url for c in responses.calls] == [f"{BASE}/Patient/p1"]


@responses.activate
def test_next_link_off_the_allow_list_is_not_followed_and_token_stays_home() -> None:
    responses.get(f"{BASE}/Condition", json={"resourceType": "Bundle", "link": [
        {"relation": "next", "url": "http://169.254.169.254/latest?page=2"}]})
    pages = client().search("Condition")
    assert next(pages)["resourceType"] == "Bundle"
    with pytest.raises(FhirError):
        next(pages)
    assert len(responses.calls) == 1
    assert responses.calls[0].request.headers["Authorization"] == "Bearer secret-token"


@pytest.mark.parametrize("base", ["http://127.0.0.1:9999@127.0.0.2:9998/fhir", "http://10.0.0.1/fhir",
                                  "file:///etc/passwd"])
@responses.activate
def test_disallowed_servers_are_never_contacted(base: str) -> None:
    with pytest.raises(FhirError):
        client(base).read("Patient/p1")
    assert len(responses.calls) == 0


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP listener that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/fhir"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_unresponsive_server_is_bounded_by_the_budget(silent_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(FhirError):
        client(silent_server, budget=1.5, timeout=1.0, retries=5).read("Patient/p1")
    assert time.monotonic() - started < 3.0
