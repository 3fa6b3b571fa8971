"""The data-gap card for sources of the record the EHR could not deliver (04 §1, topic data-gap).

The HTTP layer reports each source it had to do without (a refused search, DSTU2/STU3 data, a
key not sent with no fhirServer to read it from) as an object with ``key``, ``resource_type`` and
``reason``; this card names each one with what the answer could not take into account. Every
sentence is knowledge-base text (``cards.data_gap.unavailable_sources`` in ``cards.yaml``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from cds_cards.builder import build_card, trim_summary
from cds_cards.markdown import bullets, escape, join_sections
from cds_cards.patient_view import _trace as trace  # the one provenance line every card ends with
from cds_cards.provenance import with_provenance

if TYPE_CHECKING:
    from clinical_rules.kb import KnowledgeBase

RULE_ID = "DATA-GAP"
SEEDS = ("S0", "S3")


class Source(Protocol):
    key: str
    resource_type: str
    reason: str


def unavailable_sources_card(
    sources: Sequence[Source], kb: KnowledgeBase, source_label: str
) -> dict[str, Any]:
    """One data-gap card listing ``sources`` (one line each, in the order reported)."""
    texts = kb.cards["data_gap"]["unavailable_sources"]
    described = [(_describe(source, texts["sources"]), source.reason) for source in sources]
    names = list(dict.fromkeys(name for (name, _), _ in described))
    lines = [
        escape(texts["line"].format(name=name, reason=reason, effect=effect))
        for (name, effect), reason in described
    ]
    detail = join_sections(
        bullets(list(dict.fromkeys(lines))), escape(texts["record"]), trace(RULE_ID, SEEDS, kb)
    )
    card = build_card(
        summary=trim_summary(texts["summary"].format(what=", ".join(names))),
        indicator=texts["indicator"],
        topic="data-gap",
        source_label=source_label,
        detail=detail,
    )
    return with_provenance(card, (RULE_ID,), kb.version, SEEDS)


def _describe(source: Source, table: dict[str, dict[str, str]]) -> tuple[str, str]:
    entry = table.get(source.key) or table.get(source.resource_type) or table["default"]
    return entry["name"], entry["effect"]
