"""Amplification bounds: drafts judged per order call, cards per response.

Before: an order-sign call with 19,500 drafts (2.9 MB) returned 9,752 cards (22.6 MB) in 7.3 s
and wrote 9,752 audit rows."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from cds_service import handlers, samples
from cds_service.app import create_app
from cds_service.config import DEFAULT_MAX_CARDS, DEFAULT_MAX_DRAFT_ORDERS, Settings
from cds_service.store.schema import audit_response

URL = "/cds-services/rrmm-order-sign"


def _persona_with_findings() -> tuple[dict, int]:
    """An order-sign request (a persona whose drafts raise findings) and its card count."""
    client = create_app(Settings(database_url="sqlite://")).test_client()
    templates = {s["id"]: s for s in client.get("/cds-services").get_json()["services"]}[URL.rsplit("/", 1)[1]]
    for persona in samples.personas():
        request = samples.hook_request(persona, "order-sign", samples.utc_today(),
                                       prefetch_templates=templates["prefetch"])
        cards = client.post(URL, json=request).get_json()["cards"]
        if cards and request["context"]["draftOrders"]["entry"]:
            return request, len(cards)
    raise AssertionError("no persona's drafts raise a finding")


def _with_drafts(request: dict, count: int) -> dict:
    """The request with its drafts repeated (fresh ids) to ``count`` entries."""
    request = copy.deepcopy(request)
    template = request["context"]["draftOrders"]["entry"]
    entries = []
    for n in range(count):
        entry = copy.deepcopy(template[n % len(template)])
        entry["resource"]["id"] = f"draft-{n}-{uuid.uuid4().hex[:8]}"
        entries.append(entry)
    request["context"]["draftOrders"]["entry"] = entries
    request["hookInstance"] = str(uuid.uuid4())
    return request


def test_too_many_drafts_is_413_naming_the_limit(tmp_path: Path) -> None:
    request, _ = _persona_with_findings()
    client = create_app(Settings(database_url=f"sqlite:///{tmp_path / 's.sqlite3'}")).test_client()
    response = client.post(URL, json=_with_drafts(request, DEFAULT_MAX_DRAFT_ORDERS + 1))
    assert response.status_code == 413
    outcome = response.get_json()
    assert outcome["issue"][0]["code"] == "too-costly"
    assert "RRMM_CDS_MAX_DRAFT_ORDERS" in outcome["issue"][0]["diagnostics"]


def test_cards_beyond_the_limit_become_one_summary_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request, _ = _persona_with_findings()
    real_order_cards = handlers.order_cards

    def many_findings(ctx: handlers.HookContext) -> list[dict]:
        # One real card per drafted order, as a flood of distinct findings would give.
        produced = real_order_cards(ctx)
        drafts = len(ctx.context["draftOrders"]["entry"])
        return [{**copy.deepcopy(produced[n % len(produced)]), "uuid": str(uuid.uuid4())} for n in range(drafts)]

    monkeypatch.setattr(handlers, "order_cards", many_findings)
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 's.sqlite3'}"))
    response = app.test_client().post(URL, json=_with_drafts(request, DEFAULT_MAX_DRAFT_ORDERS))
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert len(cards) == DEFAULT_MAX_CARDS, len(cards)
    urgency = {"critical": 0, "warning": 1, "info": 2}
    assert [urgency[c["indicator"]] for c in cards[:-1]] == sorted(urgency[c["indicator"]] for c in cards[:-1])
    summary = cards[-1]
    dropped = DEFAULT_MAX_DRAFT_ORDERS - (DEFAULT_MAX_CARDS - 1)
    assert summary["summary"].startswith(f"{dropped} more findings")
    assert summary["source"]["label"].startswith("RRMM order checks")
    with app.extensions["rrmm_cds"].store.engine.connect() as connection:
        assert connection.execute(select(audit_response.c.card_count)).scalar_one() == DEFAULT_MAX_CARDS
