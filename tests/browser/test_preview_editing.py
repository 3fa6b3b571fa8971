"""The preview's request tools: choose order-select's selected drafts, edit the request, copy it as curl."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _open(page, service_url: str, persona: str, hook: str) -> None:
    page.goto(f"{service_url}/")
    page.wait_for_selector(f"#persona option[value='{persona}']", state="attached")
    page.select_option("#persona", persona)
    page.check(f"input[name='hook'][value='{hook}']")
    page.locator("#editor-box > summary").click()
    expect(page.locator("[data-testid=request-editor]")).to_have_value(re.compile(f'"hook": "{hook}"'))


def _call(page) -> dict:
    page.click("[data-testid=run]")
    expect(page.locator("#status")).to_contain_text("HTTP ")
    return json.loads(page.locator("[data-testid=raw-request]").text_content() or "{}")


def _contraindications(page) -> int:
    return page.locator("[data-testid=card][data-topic=contraindication]").count()


def test_choosing_the_selected_drafts_changes_what_is_judged(page, service_url: str) -> None:
    _open(page, service_url, "len-refractory", "order-select")
    boxes = page.locator("[data-testid=selection]")
    expect(boxes).to_have_count(3)
    assert all(boxes.nth(i).is_checked() for i in range(3))
    sent = _call(page)
    assert "MedicationRequest/len-refractory-draft-2" in sent["context"]["selections"]
    assert _contraindications(page) >= 1  # lenalidomide for a lenalidomide-refractory patient

    page.locator("[data-testid=selection][value='MedicationRequest/len-refractory-draft-2']").uncheck()
    edited = json.loads(page.locator("[data-testid=request-editor]").input_value())
    assert edited["context"]["selections"] == ["MedicationRequest/len-refractory-draft-1",
                                               "MedicationRequest/len-refractory-draft-3"]
    sent = _call(page)
    assert sent["context"]["selections"] == edited["context"]["selections"]
    cards = page.locator("[data-testid=card][data-topic=contraindication] [data-testid=summary]")
    assert not any("enalidomide" in cards.nth(i).inner_text() for i in range(cards.count()))
    assert page.js_errors == []


def test_a_late_answer_for_an_earlier_choice_does_not_overwrite_the_editor(page, service_url: str) -> None:
    held: list[object] = []
    page.route(re.compile(r".*/preview/api/request\?.*hook=patient-view.*"), lambda route: held.append(route))
    page.goto(f"{service_url}/")
    page.wait_for_selector("#persona option[value='len-refractory']", state="attached")
    page.select_option("#persona", "len-refractory")  # builds a patient-view request: held
    page.check("input[name='hook'][value='order-select']")
    page.locator("#editor-box > summary").click()
    editor = page.locator("[data-testid=request-editor]")
    expect(editor).to_have_value(re.compile('"hook": "order-select"'))
    assert held, "the patient-view build was not sent"
    with page.expect_response(re.compile(r".*hook=patient-view.*")):
        for route in held:
            route.continue_()  # type: ignore[attr-defined]
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 100))")
    assert '"hook": "order-select"' in editor.input_value()
    expect(page.locator("[data-testid=selection]")).to_have_count(3)
    assert page.js_errors == []


def test_the_edited_request_is_what_is_sent(page, service_url: str) -> None:
    _open(page, service_url, "len-sensitive", "patient-view")
    editor = page.locator("[data-testid=request-editor]")
    request = json.loads(editor.input_value())
    request["hookInstance"] = "0f0e0d0c-0b0a-4909-8807-060504030201"
    editor.fill(json.dumps(request))
    assert _call(page)["hookInstance"] == "0f0e0d0c-0b0a-4909-8807-060504030201"

    editor.fill("{not json")
    page.click("[data-testid=run]")
    expect(page.locator("#status")).to_contain_text("not valid JSON")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_copy_as_curl_gives_a_command_that_works(page, service_url: str) -> None:
    _open(page, service_url, "len-refractory", "order-sign")
    page.click("[data-testid=copy-curl]")
    command = page.locator("[data-testid=curl]").inner_text()
    assert command.startswith(f"curl -sS -X POST '{service_url}/cds-services/rrmm-order-sign'")
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, check=True).stdout
    response = json.loads(out)
    assert any(card["source"]["topic"]["code"] == "contraindication" for card in response["cards"])
