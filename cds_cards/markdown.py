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


def fact_line(fact: FactUsed, kb: KnowledgeBase, max_sources: int = 3) -> str:
    line = f"- {escape(fact.label.text)}"
    if fact.evidence:
        layout = kb.cards.layout
        distinct = _unique(fact.evidence)
        refs = [evidence_ref(e) for e in distinct[:max_sources]]
        more = len(distinct) - max_sources
        line += layout.fact_sources.render(references="; ".join(refs),
                                           more=layout.more_sources.render(count=more) if more > 0 else "")
    return line


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
