"""Outbound FHIR fetches: allow-list on every hop, retries, circuit breaker, time budget."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
import responses
from trickling_peer import trickling_peer

from cds_service.fhir_client import FetchAllowance, FetchLimitExceeded, FhirClient, FhirError, FhirUnavailable
from cds_service.security.allowlist import FhirAllowlist
from cds_service.security.circuit_breaker import CircuitBreaker, CircuitBreakers

BASE = "http://127.0.0.1:9999/fhir"
ALLOW = FhirAllowlist.from_setting("http://127.0.0.1", production=False)


def client(base: str = BASE, *, breakers: CircuitBreakers | None = None, budget: float = 5.0,
           timeout: float = 2.0, retries: int = 2, allowance: FetchAllowance | None = None) -> FhirClient:
    return FhirClient(base, access_token="secret-token", permits=ALLOW.permits, timeout=timeout,
                      retries=retries, budget=budget, breakers=breakers, allowance=allowance)


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


# -- wall-clock deadlines: a peer trickling bytes cannot hold a request --------------------------


@pytest.fixture
def trickling_server() -> Iterator[Callable[[str], str]]:
    """Start servers that answer one byte every 0.1 s: ``"headers"`` (status line and headers
    trickle) or ``"body"`` (headers at once, then a 200-byte body trickles)."""
    body = b'{"resourceType": "Patient", "id": "p1"}'.ljust(200)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 200\r\n\r\n"
    with ExitStack() as peers:

        def start(mode: str) -> str:
            at_once, trickled = (head, body) if mode == "body" else (b"", head + body)
            port = peers.enter_context(trickling_peer(at_once, trickled, 0.1))
            return f"http://127.0.0.1:{port}/fhir"

        yield start


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_trickling_server_is_cut_at_the_request_deadline(trickling_server, mode: str) -> None:
    base = trickling_server(mode)
    started = time.monotonic()
    with pytest.raises(FhirUnavailable, match="timeout"):
        client(base, timeout=1.0, retries=0, budget=10.0).read("Patient/p1")
    assert time.monotonic() - started < 1.6  # the whole answer would take 20+ s


def test_the_fetch_budget_bounds_retries_against_a_trickling_server(trickling_server) -> None:
    base = trickling_server("headers")
    started = time.monotonic()
    with pytest.raises(FhirUnavailable):
        client(base, timeout=1.0, retries=5, budget=1.5).read("Patient/p1")
    assert time.monotonic() - started < 2.2


def test_a_hook_call_against_a_trickling_server_ends_within_the_budget(trickling_server, test_settings,
                                                                         fixed_clock) -> None:
    import dataclasses
    import json

    from cds_service.app import create_app

    base = trickling_server("headers")
    settings = dataclasses.replace(test_settings, fetch_timeout=0.5, fetch_budget=1.0, fetch_retries=1)
    app = create_app(settings, clock=fixed_clock)
    body = {"hook": "patient-view", "hookInstance": "d5b5a0b6-6b0e-4c43-9a73-1a1b1c1d1e1f",
            "context": {"userId": "Practitioner/x", "patientId": "p1"}, "fhirServer": base}
    started = time.monotonic()
    response = app.test_client().post("/cds-services/rrmm-relapse-guidance", data=json.dumps(body),
                                      content_type="application/json")
    assert time.monotonic() - started < 1.8
    assert response.status_code == 412
    assert response.get_json()["issue"][0]["code"] == "transient"
    assert "Retry-After" in response.headers


# -- aggregate limits per hook call ----------------------------------------------------------------


def bundle(count: int, *, next_url: str | None = None, pad: int = 0) -> dict:
    entries = [{"resource": {"resourceType": "Observation", "id": f"o{i}-{next_url is None}", "status": "final",
                             "note": [{"text": "x" * pad}] if pad else []}} for i in range(count)]
    document: dict = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    if next_url:
        document["link"] = [{"relation": "next", "url": next_url}]
    return document


@responses.activate
def test_fetched_resources_are_limited_across_pages() -> None:
    page2 = f"{BASE}/Observation?page=2"
    responses.get(page2, json=bundle(3))
    responses.get(f"{BASE}/Observation", json=bundle(3, next_url=page2))
    allowance = FetchAllowance(max_bytes=10**9, max_resources=5)
    with pytest.raises(FetchLimitExceeded) as raised:
        list(client(allowance=allowance).search("Observation?patient=p"))
    assert raised.value.limit == "RRMM_CDS_FETCH_MAX_RESOURCES"


@responses.activate
def test_fetched_bytes_are_limited_while_reading() -> None:
    responses.get(f"{BASE}/Observation", json=bundle(2, pad=4000))
    allowance = FetchAllowance(max_bytes=2000, max_resources=10**6)
    with pytest.raises(FetchLimitExceeded) as raised:
        list(client(allowance=allowance).search("Observation?patient=p"))
    assert raised.value.limit == "RRMM_CDS_FETCH_MAX_BYTES"
    assert allowance.bytes_read <= 2000 + 64 * 1024


@pytest.mark.parametrize(("setting", "limit"), [("fetch_max_resources", 4), ("fetch_max_bytes", 600)])
@responses.activate
def test_a_call_over_a_fetch_limit_is_412_naming_it(test_settings, fixed_clock, setting: str, limit: int) -> None:
    import dataclasses
    import json

    from cds_service.app import create_app
    from cds_service.fhir_version import CAPABILITIES

    CAPABILITIES.put(BASE, "4.0.1")
    responses.get(f"{BASE}/Observation", json=bundle(5, pad=100))
    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    responses.get(re.compile(re.escape(BASE) + r"/[A-Z]\w+\?.*"), json={"resourceType": "Bundle", "type": "searchset"})
    app = create_app(dataclasses.replace(test_settings, **{setting: limit}), clock=fixed_clock)
    body = {"hook": "patient-view", "hookInstance": "d5b5a0b6-6b0e-4c43-9a73-1a1b1c1d1e1f",
            "context": {"userId": "Practitioner/x", "patientId": "p1"}, "fhirServer": BASE}
    response = app.test_client().post("/cds-services/rrmm-relapse-guidance", data=json.dumps(body),
                                      content_type="application/json")
    CAPABILITIES.clear()
    assert response.status_code == 412
    issue = response.get_json()["issue"][0]
    assert issue["code"] == "too-costly"
    assert f"RRMM_CDS_{setting.upper()}" in issue["diagnostics"] and str(limit) in issue["diagnostics"]


def test_a_tls_handshake_trickle_is_cut_at_the_deadline() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)  # the ClientHello
            conn.send(b"\x16\x03\x03\x40\x00")  # a 16 KB handshake record, sent one byte at a time
            while not stop.wait(0.1):
                try:
                    conn.send(b"\x00")
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    https = FhirAllowlist.from_setting("https://127.0.0.1", production=False)
    base = f"https://127.0.0.1:{listener.getsockname()[1]}/fhir"
    started = time.monotonic()
    try:
        with pytest.raises(FhirUnavailable):
            FhirClient(base, access_token=None, permits=https.permits, timeout=1.0, retries=0, budget=5).read("metadata")
        assert time.monotonic() - started < 1.6
    finally:
        stop.set()
        listener.close()
