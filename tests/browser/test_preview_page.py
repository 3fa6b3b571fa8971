"""The card preview page in a real browser: choose a persona and a hook, see the cards."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from cds_service import samples

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _run(page, service_url: str, persona: str, hook: str) -> None:
    page.goto(f"{service_url}/")
    page.wait_for_selector(f"#persona option[value='{persona}']", state="attached")
    page.select_option("#persona", persona)
    page.check(f"input[name='hook'][value='{hook}']")
    page.click("[data-testid=run]")
    # (wait_for_function would need eval, which the page's Content-Security-Policy forbids.)
    page.wait_for_selector("[data-testid=card], [data-testid=no-cards], [data-testid=call-error]",
                           timeout=30_000)


def test_patient_view_cards_render_like_an_ehr(page, service_url: str, artifacts: Path) -> None:
    _run(page, service_url, "plasma-cell-leukaemia", "patient-view")
    cards = page.locator("[data-testid=card]")
    topics = [cards.nth(i).get_attribute("data-topic") for i in range(cards.count())]
    assert {"aggressive-disease", "treatment-recommendation", "supportive-care"} <= set(topics)

    critical = page.locator("[data-testid=card][data-topic=aggressive-disease]")
    assert critical.locator("[data-testid=indicator]").inner_text().lower() == "critical"
    assert critical.evaluate("n => getComputedStyle(n).borderLeftColor") == "rgb(198, 40, 40)"

    treatment = page.locator("[data-testid=card][data-topic=treatment-recommendation]")
    # Markdown detail is rendered as HTML, not shown as source.
    assert treatment.locator("[data-testid=detail]").inner_html().count("<") > 2
    first = treatment.locator("[data-testid=suggestion]").first
    assert first.inner_text().startswith("★ DVd")
    first.click()
    payload = treatment.locator("[data-testid=suggestion-payload]").first
    assert '"resourceType": "MedicationRequest"' in payload.inner_text()

    raw_request = page.locator("[data-testid=raw-request]").text_content() or ""  # in a closed <details>
    assert '"hook": "patient-view"' in raw_request and '"prefetch"' in raw_request
    assert '"cards"' in page.locator("[data-testid=raw-response]").inner_text()
    page.screenshot(path=str(artifacts / "preview-plasma-cell-leukaemia.png"), full_page=True)
    assert page.js_errors == []


def test_order_sign_shows_the_fix_and_override_reasons(page, service_url: str, artifacts: Path) -> None:
    _run(page, service_url, "len-refractory", "order-sign")
    card = page.locator("[data-testid=card][data-topic=contraindication]")
    assert card.locator("[data-testid=indicator]").inner_text().lower() == "critical"
    card.locator("[data-testid=suggestion]").first.click()
    assert '"type": "delete"' in card.locator("[data-testid=suggestion-payload]").first.inner_text()
    card.locator("[data-testid=override]").click()
    expect(page.locator("#status")).to_contain_text("feedback overridden: HTTP 200")
    page.screenshot(path=str(artifacts / "preview-order-sign-len-refractory.png"), full_page=True)
    assert page.js_errors == []


def test_a_patient_without_myeloma_gets_no_cards(page, service_url: str) -> None:
    _run(page, service_url, "no-myeloma", "patient-view")
    assert page.locator("[data-testid=no-cards]").is_visible()


def test_every_persona_is_offered(page, service_url: str) -> None:
    page.goto(f"{service_url}/")
    page.wait_for_selector("#persona option", state="attached")
    offered = page.locator("#persona option").evaluate_all("options => options.map(o => o.value)")
    assert offered == [p.id for p in samples.personas()]
