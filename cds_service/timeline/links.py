"""The timeline link on the treatment and referral cards (a ``Pipeline.card_decorators`` entry).

The link is ``{type: smart, label: <KB cards.links.timeline>, url: <public base>/timeline/launch.html,
appContext: <timeline token for the hook's patient>}``. Without a public base URL (development
outside a request: ``rrmm-cds call``, the persona check) the development default is used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import has_request_context, request

from cds_cards.links import timeline_link_label, with_timeline_link
from cds_service.handlers import HookContext
from cds_service.timeline.token import TimelineTokens, development_key
from clinical_rules.kb import KnowledgeBase

LAUNCH_PATH = "/timeline/launch.html"
DEVELOPMENT_BASE_URL = "http://127.0.0.1:8080"  # rrmm-cds serve's default address


def launch_url(public_base_url: str | None) -> str:
    if public_base_url:
        return public_base_url.rstrip("/") + LAUNCH_PATH
    if has_request_context():
        return request.host_url.rstrip("/") + LAUNCH_PATH
    return DEVELOPMENT_BASE_URL + LAUNCH_PATH


def timeline_decorator(kb: KnowledgeBase, tokens: TimelineTokens, public_base_url: str | None,
                       clock: Callable[[], datetime]) -> Callable[[HookContext, list[dict[str, Any]]],
                                                                  list[dict[str, Any]]]:
    label = timeline_link_label(kb)

    def decorate(ctx: HookContext, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if ctx.hook != "patient-view" or not cards:
            return cards
        url = launch_url(public_base_url)
        token = tokens.mint(ctx.patient_id, clock())
        return [with_timeline_link(card, label, url, token) for card in cards]

    return decorate


def tokens_for(settings: Any) -> TimelineTokens | None:
    """The token key in force: the configured one, a development one, or none (production unset)."""
    if settings.timeline_key:
        return TimelineTokens(settings.timeline_key, settings.timeline_token_ttl_s)
    if settings.production:
        return None
    return TimelineTokens(development_key(settings.database_url), settings.timeline_token_ttl_s)


def decorators_for(kb: KnowledgeBase, settings: Any, clock: Callable[[], datetime]) -> list[Any]:
    """The pipeline's card decorators: the timeline link, when a token key is in force."""
    tokens = tokens_for(settings)
    if tokens is None:
        return []
    return [timeline_decorator(kb, tokens, settings.public_base_url, clock)]
