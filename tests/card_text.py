"""What a clinician reads on a card, measured (04 §1, 03 §8.3): the detail's length (a treatment
card under about 1,500 characters, others under about 800) and no internal code — a rule id
(R1–R9), hard-rule id (H1–H6), decision id (D01…) or spec section sign — in the summary, the
detail's sentences or a suggestion's label. The provenance line closing the detail is where the
ids belong, so it is left out of the sentences."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TREATMENT_DETAIL_MAX = 1500
OTHER_DETAIL_MAX = 800
# The issue's four patterns, and the order checks' ids (O1–O12, SC-…) likewise kept to the provenance line.
INTERNAL_CODE = re.compile(r"\bR[1-9]\b|\bH[1-6]\b|\bD[0-9]{2}\b|§|\bO(?:[1-9]|1[0-2])\b|\bSC-[A-Z]")
PROVENANCE_LINE = re.compile(r"^\*Rule .* · KB [0-9.]+ · Sources: .*\*$")


def sentences(card: dict[str, Any]) -> list[str]:
    """The card's clinician-facing text without its provenance line."""
    detail = [line for line in card.get("detail", "").splitlines() if not PROVENANCE_LINE.match(line)]
    return [card["summary"], *detail, *(s["label"] for s in card.get("suggestions", []))]


def problems(cards: Iterable[dict[str, Any]], where: str) -> list[str]:
    found = []
    for card in cards:
        topic = card["source"]["topic"]["code"]
        limit = TREATMENT_DETAIL_MAX if topic == "treatment-recommendation" else OTHER_DETAIL_MAX
        detail = card.get("detail", "")
        if len(detail) > limit:
            found.append(f"{where}: {topic} detail is {len(detail)} characters (limit {limit})")
        if detail and not PROVENANCE_LINE.match(detail.splitlines()[-1]):
            found.append(f"{where}: {topic} detail does not close with the provenance line")
        for text in sentences(card):
            for match in INTERNAL_CODE.finditer(text):
                found.append(f"{where}: {topic} says {match.group(0)!r} in {text[:90]!r}")
        if "KB " not in card["source"]["label"]:
            found.append(f"{where}: {topic} source label names no KB version")
    return found
