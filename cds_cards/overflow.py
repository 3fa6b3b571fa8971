"""At most ``limit`` cards per response: the most urgent are kept, one card stands for the rest.

An order-sign call with thousands of drafted orders once returned thousands of cards (22 MB); an
EHR cannot show that, and each card cost an audit row. :func:`cap_cards` keeps the ``limit - 1``
most urgent cards (critical, then warning and data gaps, then info; the order within an indicator
is kept) and
adds one card of the most urgent dropped indicator and topic whose detail lists the dropped cards'
summaries (texts: cards.yaml ``overflow``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cds_cards.markdown import bullets, escape, join_sections
from cds_cards.patient_view.common import card
from clinical_rules.decisions import Provenance

if TYPE_CHECKING:
    from clinical_rules.kb import KnowledgeBase

_URGENCY = {"critical": 0, "warning": 1, "info": 2}
LISTED_SUMMARIES = 20  # dropped cards named in the overflow card's detail


def cap_cards(cards: Sequence[dict[str, Any]], limit: int, kb: KnowledgeBase, *, source_label: str) -> list[dict[str, Any]]:
    if len(cards) <= limit:
        return list(cards)
    ranked = sorted(cards, key=_rank)
    kept, dropped = ranked[: limit - 1], ranked[limit - 1 :]
    return [*kept, overflow_card(dropped, len(cards), kb, source_label=source_label)]


def _rank(card_: dict[str, Any]) -> int:
    # Missing data is never folded away: a data-gap card ranks with the warnings (03 §2).
    urgency = _URGENCY.get(card_.get("indicator", "info"), 2)
    if card_.get("source", {}).get("topic", {}).get("code") == "data-gap":
        urgency = min(urgency, _URGENCY["warning"])
    return urgency


def overflow_card(dropped: Sequence[dict[str, Any]], total: int, kb: KnowledgeBase, *, source_label: str) -> dict[str, Any]:
    texts = kb.cards.overflow
    first = dropped[0]
    listed = [escape(str(c.get("summary", ""))) for c in dropped[:LISTED_SUMMARIES]]
    more = texts.more.render(count=len(dropped) - len(listed)) if len(dropped) > len(listed) else ""
    rule_ids = [rule for c in dropped for rule in _rule_ids(c)]
    return card(
        kb,
        summary=texts.summary.render(count=len(dropped)),
        indicator=first.get("indicator", "info"),
        topic=first["source"]["topic"]["code"],
        source_label=source_label,
        detail=join_sections(texts.shown.render(shown=total - len(dropped), total=total), bullets(listed), more),
        provenance=Provenance.of(rule_ids, kb.version),
        # A warning or critical card offers override reasons: those of the card it leads with.
        override_reasons=[
            (reason["code"], reason.get("display", reason["code"]))
            for reason in first.get("overrideReasons") or ()
            if isinstance(reason, dict) and reason.get("code")
        ],
    )


def _rule_ids(card_: dict[str, Any]) -> list[str]:
    from cds_cards.provenance import PROVENANCE_KEY

    body = (card_.get("extension") or {}).get(PROVENANCE_KEY) or {}
    rules = body.get("ruleIds") if isinstance(body, dict) else None
    return [str(r) for r in rules] if isinstance(rules, list) else []
