"""Machine-readable provenance on every card (CDS Hooks 2.0 card ``extension``).

The detail's last line already says "Rule … · KB … · Sources: …" for people; this puts the same
facts where software can read them without parsing Markdown:

    "extension": {"org.rrmm-cds.provenance": {"ruleIds": ["R3", "H1"], "kbVersion": "2026.1",
                                              "seeds": ["S0", "S4"], "sources": ["label"]}}

``ruleIds`` and ``kbVersion`` are the key names the audit trail reads first
(``cds_service.observability.audit``). ``seeds`` holds the seed documents (S0–S4); other sources
(drug labels, consensus, regimen publications) go to ``sources``. Keys with nothing to say are
left out: a response never carries an empty array.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PROVENANCE_KEY = "org.rrmm-cds.provenance"


def provenance(rule_ids: Iterable[str], kb_version: str, sources: Iterable[str]) -> dict[str, Any]:
    """The extension object: rule ids in first-seen order, seeds S0–S4 sorted, other sources sorted."""
    rules = [r.strip() for r in dict.fromkeys(rule_ids) if r and r.strip()]
    unique_sources = {s for s in sources if s}
    seeds = sorted(s for s in unique_sources if _is_seed(s))
    others = sorted(s for s in unique_sources if not _is_seed(s))
    body: dict[str, Any] = {"kbVersion": kb_version}
    if rules:
        body["ruleIds"] = rules
    if seeds:
        body["seeds"] = seeds
    if others:
        body["sources"] = others
    return {PROVENANCE_KEY: body}


def with_provenance(
    card: dict[str, Any], rule_ids: Iterable[str], kb_version: str, sources: Iterable[str]
) -> dict[str, Any]:
    """``card`` with its provenance extension (the card dict is returned, updated in place)."""
    card["extension"] = provenance(rule_ids, kb_version, sources)
    return card


def split_rule_ids(text: str) -> list[str]:
    """"O3, VTE-PROPHYLAXIS" -> ["O3", "VTE-PROPHYLAXIS"] (the detail line's comma-joined form)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _is_seed(source: str) -> bool:
    return len(source) == 2 and source[0] == "S" and source[1].isdigit()
