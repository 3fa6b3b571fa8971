"""The fhirServer allow-list: parsed-URL matching, SSRF tricks refused, production rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cds_service.security.allowlist import FhirAllowlist


def dev(value: str | None) -> FhirAllowlist:
    return FhirAllowlist.from_setting(value, production=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/fhir",
        "http://127.0.0.1:8080/fhir/Patient?x=1",
        "https://localhost:9443/r4",
        "http://[::1]:5000/",
        "HTTP://LOCALHOST/fhir",
    ],
)
def test_development_default_allows_loopback(url: str) -> None:
    assert dev(None).permits(url)
    assert dev("  ").permits(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2/fhir",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://example.org/fhir",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "//127.0.0.1/fhir",
        "/fhir/Patient",
        "",
    ],
)
def test_development_default_refuses_everything_else(url: str) -> None:
    assert not dev(None).permits(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080@127.0.0.2:9090/",
        "http://user@127.0.0.1/",
        "http://user:pw@127.0.0.1/",
        "http://127.0.0.2#@127.0.0.1/",
        "http://127.0.0.1\\@127.0.0.2/",
        "http://127.0.0.2\\.127.0.0.1/",
        "http://127.0.0.1\t.evil.example/",
        "http://127.0.0.1\n/",
        "http://127.0.0.1.evil.example/",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:port/",
        "http://[::1/",
        "http://127.0.0.1%2f@evil/",
        "http://ex\u0430mple.org/",
    ],
)
def test_parser_tricks_are_refused(url: str) -> None:
    allow = dev("http://127.0.0.1,http://example.org")
    assert not allow.permits(url)


def test_port_specific_entry() -> None:
    allow = dev("https://fhir.example.org:8443, http://127.0.0.1")
    assert allow.permits("https://fhir.example.org:8443/r4/Patient/1")
    assert not allow.permits("https://fhir.example.org/r4")
    assert not allow.permits("https://fhir.example.org:9443/r4")
    assert not allow.permits("http://fhir.example.org:8443/r4")
    assert allow.permits("http://127.0.0.1:1234/")


def test_default_port_matches_explicit_entry_port() -> None:
    allow = dev("https://fhir.example.org:443")
    assert allow.permits("https://fhir.example.org/r4")
    assert allow.permits("https://FHIR.example.org:443/r4")


def test_entry_without_port_allows_any_port_on_that_host_only() -> None:
    allow = dev("http://127.0.0.1")
    assert allow.permits("http://127.0.0.1:40000/fhir")
    assert not allow.permits("http://localhost:40000/fhir")
    assert not allow.permits("https://127.0.0.1/fhir")


def test_production_requires_https_entries() -> None:
    with pytest.raises(ValueError, match="https"):
        FhirAllowlist.from_setting("http://fhir.example.org", production=True)


def test_production_refuses_http_urls_and_defaults_to_nothing() -> None:
    allow = FhirAllowlist.from_setting("https://fhir.example.org", production=True)
    assert allow.permits("https://fhir.example.org/r4")
    assert not allow.permits("http://fhir.example.org/r4")
    empty = FhirAllowlist.from_setting(None, production=True)
    assert not empty.permits("https://127.0.0.1/")
    assert not empty.permits("http://127.0.0.1/")


@pytest.mark.parametrize(
    "entry",
    ["127.0.0.1", "ftp://x.org", "http://user@x.org", "http://x.org/fhir", "http://x.org?q", "http://", "http://x.org:abc"],
)
def test_bad_entries_are_rejected_at_startup(entry: str) -> None:
    with pytest.raises(ValueError):
        dev(entry)


@given(st.text(max_size=200))
def test_permits_never_raises(url: str) -> None:
    assert dev("http://127.0.0.1,https://example.org:8443").permits(url) in (True, False)


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60))
def test_anything_permitted_really_points_at_an_allowed_host(suffix: str) -> None:
    import urllib3.util

    url = "http://" + suffix
    if dev("http://127.0.0.1").permits(url):
        assert urllib3.util.parse_url(url).host == "127.0.0.1"
