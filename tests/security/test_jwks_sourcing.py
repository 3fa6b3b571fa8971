"""Where client-JWT keys come from: wall-clock deadlines on JWKS reads, no lock held during
network I/O (stale keys served, unknown kids fail fast), unreachable JWKS logged as such, and
JWKS pinned to a local file per issuer."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import responses

from cds_service.security import issuers as issuers_mod
from cds_service.security.issuers import (
    IssuerConfigError,
    JwksUnavailable,
    UrlJwksSource,
    load_trusted_issuers,
)
from cds_service.security.jwt_auth import AuthenticationFailed, ClientJwtVerifier

from .jwt_helpers import BASE_URL, ISSUER, ClientKeys, MemoryReplayGuard

AUD = f"{BASE_URL}/cds-services/rrmm-relapse-guidance"


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


@pytest.fixture
def jwks_server(keys: ClientKeys) -> Iterator[Callable[..., str]]:
    """A loopback JWKS endpoint: ``start(delay=s)`` waits before answering, ``trickle=True`` sends
    the answer one byte every 0.1 s."""
    servers: list[http.server.ThreadingHTTPServer] = []
    body = json.dumps(keys.jwks()).encode()

    def start(*, delay: float = 0.0, trickle: bool = False) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if not trickle:
                        self.wfile.write(body)
                        return
                    for byte in body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    return

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/jwks.json"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def verifier_for(tmp_path: Path, spec: dict) -> ClientJwtVerifier:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({ISSUER: spec}))
    return ClientJwtVerifier(load_trusted_issuers(path, production=False), MemoryReplayGuard())


def test_a_trickling_jwks_endpoint_is_cut_at_the_deadline(keys, jwks_server, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(issuers_mod, "FETCH_TIMEOUT_S", 0.5)
    verifier = verifier_for(tmp_path, {"jwks_url": jwks_server(trickle=True)})
    started = time.monotonic()
    with pytest.raises(AuthenticationFailed) as raised:
        verifier.verify(f"Bearer {keys.token(AUD)}", [AUD])
    assert time.monotonic() - started < 1.2  # the whole document would take a minute
    assert raised.value.reason.startswith("JWKS unreachable")


def test_an_unreachable_jwks_is_not_called_an_unknown_kid(keys, tmp_path, caplog) -> None:
    verifier = verifier_for(tmp_path, {"jwks_url": "http://127.0.0.1:9/jwks.json"})  # nothing listens
    with pytest.raises(AuthenticationFailed) as raised:
        verifier.verify(f"Bearer {keys.token(AUD)}", [AUD])
    assert raised.value.reason == "JWKS unreachable (ConnectionError)"
    assert "JWKS unreachable" in caplog.text
    # Within the refresh interval the next token is answered from what is known: still unreachable.
    with pytest.raises(AuthenticationFailed) as again:
        verifier.verify(f"Bearer {keys.token(AUD)}", [AUD])
    assert again.value.reason.startswith("JWKS unreachable")


def test_a_second_token_does_not_wait_behind_a_slow_jwks_read(keys, jwks_server, tmp_path) -> None:
    verifier = verifier_for(tmp_path, {"jwks_url": jwks_server(delay=1.5)})
    first: list[object] = []
    reader = threading.Thread(
        target=lambda: first.append(verifier.verify(f"Bearer {keys.token(AUD)}", [AUD]))
    )
    reader.start()
    time.sleep(0.3)  # the first token is reading the JWKS now
    started = time.monotonic()
    with pytest.raises(AuthenticationFailed) as raised:
        verifier.verify(f"Bearer {keys.token(AUD)}", [AUD])
    assert time.monotonic() - started < 0.3
    assert raised.value.reason == "JWKS refresh in progress"
    reader.join(timeout=5)
    assert first and first[0].issuer == ISSUER
    verifier.verify(f"Bearer {keys.token(AUD)}", [AUD])  # and afterwards from the cache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_stale_key_is_served_at_once_while_it_is_read_again(keys, jwks_server) -> None:
    clock = Clock()
    source = UrlJwksSource(jwks_server(delay=1.0), clock=clock)
    started = time.monotonic()
    assert source.get_key(keys.kid_es) is not None  # the first read waits (nothing is known)
    assert time.monotonic() - started >= 1.0
    clock.now += issuers_mod.URL_CACHE_TTL_S + 1
    started = time.monotonic()
    assert source.get_key(keys.kid_es) is not None
    assert time.monotonic() - started < 0.2


def test_unknown_kid_after_a_failed_read_fails_fast(keys) -> None:
    clock = Clock()
    source = UrlJwksSource("http://127.0.0.1:9/jwks.json", clock=clock)
    with pytest.raises(JwksUnavailable):
        source.get_key("k")
    started = time.monotonic()
    with pytest.raises(JwksUnavailable):
        source.get_key("k")
    assert time.monotonic() - started < 0.05


@responses.activate
def test_a_pinned_jwks_file_replaces_the_url_and_every_jku(keys, tmp_path) -> None:
    jwks_url = "https://sandbox.test/.well-known/jwks.json"
    (tmp_path / "pinned.json").write_text(json.dumps(keys.jwks()))
    verifier = verifier_for(
        tmp_path, {"jwks_url": jwks_url, "jku": [jwks_url], "pinned_jwks_file": "pinned.json"}
    )
    verifier.verify(f"Bearer {keys.token(AUD)}", [AUD])
    verifier.verify(f"Bearer {keys.token(AUD, header={'jku': jwks_url})}", [AUD])
    with pytest.raises(AuthenticationFailed):  # a jku not on the list is still refused
        verifier.verify(f"Bearer {keys.token(AUD, header={'jku': 'https://other.test/jwks'})}", [AUD])
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    "spec",
    [
        {"jwks_file": "pinned.json", "pinned_jwks_file": "pinned.json"},
        {"pinned_jwks_file": ""},
        {"pinned_jwks_file": "missing.json"},
    ],
)
def test_bad_pins_refuse_to_load(keys, tmp_path, spec) -> None:
    (tmp_path / "pinned.json").write_text(json.dumps(keys.jwks()))
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({ISSUER: spec}))
    with pytest.raises(IssuerConfigError):
        load_trusted_issuers(path, production=False)
