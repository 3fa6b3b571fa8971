"""Small GitHub-flavoured Markdown helpers for card details (facts with their sources)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinical_rules.decisions import FactUsed
    from clinical_rules.kb import KnowledgeBase
    from fhir_mappings.facts import Evidence

_ESCAPE = str.maketrans({"*": r"\*", "_": r"\_", "`": r"\`", "[": r"\[", "]": r"\]", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """Neutralise Markdown/HTML in text that came from the record (resource texts, descriptions)."""
    return text.translate(_ESCAPE)


def evidence_ref(evidence: Evidence) -> str:
    when = f" {evidence.date.isoformat()}" if evidence.date else ""
    label = f" — {escape(evidence.text)}" if evidence.text else ""
    return f"`{evidence.reference}`{when}{label}"


def fact_line(fact: FactUsed, kb: KnowledgeBase) -> str:
    """One fact as a bullet. The resources behind it go to the card's provenance extension
    (:func:`fact_references`), not into the text (04 §1)."""
    return f"- {escape(fact.label.text)}"


def fact_references(facts: Iterable[FactUsed]) -> list[dict[str, object]]:
    """The resources behind each fact, for the provenance extension."""
    return [{"fact": fact.label.text, "references": [e.reference for e in _unique(fact.evidence)]}
            for fact in facts if fact.evidence]


def bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items if item)


def section(title: str, body: str) -> str:
    return f"**{title}**\n\n{body}" if body.strip() else ""


def join_sections(*sections: str) -> str:
    return "\n\n".join(s for s in sections if s and s.strip())


def _unique(evidence: Iterable[Evidence]) -> list[Evidence]:
    seen: set[str] = set()
    out: list[Evidence] = []
    for item in evidence:
        if item.reference not in seen:
            seen.add(item.reference)
            out.append(item)
    return out
