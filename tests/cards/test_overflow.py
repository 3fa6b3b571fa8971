"""The card cap (cds_cards/overflow.py): the most urgent cards are kept, and a data-gap card is
never folded into the summary card, whatever its indicator."""

from __future__ import annotations

from typing import Any

from cds_cards.overflow import cap_cards
from clinical_rules.kb import load_knowledge_base

KB = load_knowledge_base()


def _card(n: int, indicator: str, topic: str) -> dict[str, Any]:
    return {"uuid": f"c{n}", "summary": f"card {n}", "indicator": indicator,
            "source": {"label": "test", "topic": {"code": topic}}}


def test_a_data_gap_card_is_kept_ahead_of_info_cards():
    cards = [_card(n, "info", "supportive-care") for n in range(10)]
    cards.append(_card(10, "info", "data-gap"))
    capped = cap_cards(cards, 4, KB, source_label="test")
    assert len(capped) == 4
    assert [c["uuid"] for c in capped[:3]] == ["c10", "c0", "c1"]


def test_warnings_and_critical_cards_come_first():
    cards = [_card(0, "info", "supportive-care"), _card(1, "warning", "order-safety"),
             _card(2, "info", "supportive-care"), _card(3, "critical", "order-safety")]
    capped = cap_cards(cards, 3, KB, source_label="test")
    assert [c["uuid"] for c in capped[:2]] == ["c3", "c1"]
    assert capped[2]["summary"] != "card 0"  # the summary card stands for the rest
