"""Card links whose label is a knowledge-base text (CDS Hooks 2.0 Link)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cds_cards.builder import Link

if TYPE_CHECKING:
    from clinical_rules.kb import KnowledgeBase

# The cards that offer the relapse timeline: the treatment recommendation and the referral.
TIMELINE_TOPICS = frozenset({"treatment-recommendation", "referral"})


def card_topic(card: dict[str, Any]) -> str | None:
    source = card.get("source")
    topic = source.get("topic") if isinstance(source, dict) else None
    code = topic.get("code") if isinstance(topic, dict) else None
    return code if isinstance(code, str) else None


def timeline_link_label(kb: KnowledgeBase) -> str:
    return kb.cards.links.timeline.render()


def with_timeline_link(card: dict[str, Any], label: str, url: str, app_context: str) -> dict[str, Any]:
    """``card`` with a SMART link to the timeline app added, when its topic offers one."""
    if card_topic(card) not in TIMELINE_TOPICS:
        return card
    link = Link(label=label, url=url, type="smart", app_context=app_context).to_dict()
    return {**card, "links": [*card.get("links", []), link]}
