"""The timeline app without a SMART server (development): opened from the card preview page on a
sample patient's record; narrow screens; one printed page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def vendored() -> None:
    from cds_service.commands import timeline

    if (timeline.VENDOR_DIR / "manifest.json").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the timeline's browser libraries cannot be vendored")
    timeline.vendor(npm=npm)


def _open_from_preview(page, service_url: str, persona: str):
    page.goto(f"{service_url}/")
    page.wait_for_selector(f"#persona option[value='{persona}']", state="attached")
    page.select_option("#persona", persona)
    page.check("input[name='hook'][value='patient-view']")
    page.click("[data-testid=run]")
    link = page.locator("[data-testid=card][data-topic=treatment-recommendation] [data-testid=timeline-link]")
    with page.context.expect_page() as opened:
        link.click()
    timeline = opened.value
    timeline.wait_for_selector("body[data-state=drawn], body[data-state=error]", timeout=30_000)
    return timeline


def test_the_preview_page_opens_the_timeline_of_the_sample_patient(page, service_url, artifacts: Path) -> None:
    timeline = _open_from_preview(page, service_url, "penta-refractory")
    assert timeline.get_attribute("body", "data-state") == "drawn", timeline.inner_text("#status")
    assert timeline.url.endswith("/timeline/?demo=penta-refractory")
    for part in ("#lines", "#response", "#renal"):
        assert timeline.locator(f"{part} svg").count() >= 1, part
    assert timeline.locator("#decision [data-row]").count() == 1
    assert timeline.locator("#facts tr[data-fact=penta_refractory] td").first.inner_text() == "true"
    # Hover: the value, date and source resource of a point.
    timeline.locator("#response [aria-label^='serumMProtein']").first.hover()
    tip = timeline.locator("#response [aria-label=tip]")
    assert re.search(r"Observation/\S+ \d{4}-\d{2}-\d{2}", tip.first.text_content() or "")
    timeline.screenshot(path=str(artifacts / "timeline-preview-penta-refractory.png"), full_page=True)


def test_a_narrow_screen_gets_one_column_without_sideways_scrolling(browser, service_url, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{service_url}/timeline/?demo=len-refractory")
    page.wait_for_selector("body[data-state=drawn]", timeout=30_000)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    boxes = [page.locator(p).bounding_box() for p in ("#lines", "#decision")]
    assert boxes[1]["y"] > boxes[0]["y"] and abs(boxes[1]["x"] - boxes[0]["x"]) < 2  # stacked
    page.screenshot(path=str(artifacts / "timeline-narrow-len-refractory.png"), full_page=True)
    context.close()


def test_it_prints_on_one_page(browser, service_url, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{service_url}/timeline/?demo=penta-refractory")
    page.wait_for_selector("body[data-state=drawn]", timeout=30_000)
    pdf = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True)
    (artifacts / "timeline-print-penta-refractory.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    context.close()


def test_without_the_vendor_files_the_app_says_so(page, service_url) -> None:
    page.route("**/timeline/vendor/**", lambda route: route.fulfill(status=404, body="missing"))
    page.goto(f"{service_url}/timeline/?demo=len-refractory")
    page.wait_for_selector("body[data-state=error]", timeout=30_000)
    assert "rrmm-cds timeline vendor" in page.inner_text("#status")
