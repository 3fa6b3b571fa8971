"""The preview blueprint without a browser: dev-only, request building, safe Markdown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.preview import register_preview
from cds_service.preview.safe_markdown import render

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(tmp_path: Path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'store.sqlite3'}"), clock=lambda: NOW)
    return app.test_client()


def test_page_is_served_with_a_strict_content_security_policy(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert b"preview.js" in response.data
    assert client.get("/preview/static/preview.js").status_code == 200


def test_not_served_in_production(tmp_path: Path) -> None:
    settings = Settings(env="production", database_url=f"sqlite:///{tmp_path / 'store.sqlite3'}")
    app = Flask(__name__)
    register_preview(app, settings)
    assert "preview" not in app.blueprints


def test_request_is_built_for_the_apps_today_and_answered_by_the_service(client) -> None:
    built = client.get("/preview/api/request?persona=len-refractory&hook=patient-view").get_json()
    assert built["url"] == "/cds-services/rrmm-relapse-guidance"
    request = built["request"]
    # The chart's latest dates land just before the app clock's today, never after it.
    latest = max(e["resource"]["effectiveDateTime"][:10]
                 for e in request["prefetch"]["labObservations"]["entry"])
    assert latest <= NOW.date().isoformat()
    answer = client.post(built["url"], json=request)
    assert answer.status_code == 200
    assert "cards" in answer.get_json()


@pytest.mark.parametrize(("query", "status"), [("persona=nobody&hook=patient-view", 404),
                                                ("persona=len-sensitive&hook=encounter-start", 400)])
def test_bad_requests_get_an_operation_outcome(client, query: str, status: int) -> None:
    response = client.get(f"/preview/api/request?{query}")
    assert response.status_code == status
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_markdown_endpoint_validates_its_body(client) -> None:
    assert client.post("/preview/api/markdown", json={"markdown": "not a list"}).status_code == 400
    assert client.post("/preview/api/markdown", data="junk", content_type="text/plain").status_code == 400
    html = client.post("/preview/api/markdown", json={"markdown": ["**b**"]}).get_json()["html"]
    assert html == ["<p><strong>b</strong></p>"]


def test_markdown_escapes_raw_html_and_unsafe_links() -> None:
    html = render('<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) '
                  '[ok](https://example.org)')
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;" in html
    assert 'href="https://example.org"' in html


@pytest.mark.parametrize("target", ["java&#x73;cript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
                                    "//evil.example/x", "vbscript:x", "java\tscript:alert(1)"])
def test_markdown_drops_link_targets_that_are_not_plain_web_links(target: str) -> None:
    assert "href" not in render(f"[click]({target})")


def test_markdown_renders_tables_and_lists() -> None:
    html = render("| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two")
    assert "<table>" in html and "<li>one</li>" in html


def test_markdown_lists_may_follow_a_paragraph_line_as_in_gfm() -> None:
    html = render("Facts used:\n- creatinine 1.1 mg/dL\n- weight 58 kg\n\nRule R6")
    assert "<p>Facts used:</p>" in html and "<li>weight 58 kg</li>" in html
    assert "<li>" not in render("eGFR 40 - 50 mL/min")
