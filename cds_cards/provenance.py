"""Provenance on every card, from the one model (``clinical_rules.decisions.Provenance``): the
line closing the detail for people, and the CDS Hooks card ``extension`` for software (the audit
trail reads it):

    "extension": {"org.rrmm-cds.provenance": {"ruleIds": ["R3", "H1"], "kbVersion": "2026.1",
                                              "seeds": ["S0", "S4"], "sources": ["label"]}}

``seeds`` holds the seed documents (sources of kind ``seed`` in manifest.yaml); other sources (drug
labels, consensus, regimen publications) go to ``sources``. Keys with nothing to say are left out:
a response never carries an empty array.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cds_cards.markdown import escape

if TYPE_CHECKING:
    from clinical_rules.decisions import Provenance
    from clinical_rules.kb import KnowledgeBase

PROVENANCE_KEY = "org.rrmm-cds.provenance"


def ordered_sources(provenance: Provenance, kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """(seeds, other sources), each sorted; unknown ids count as other sources."""
    seeds = sorted(s for s in set(provenance.sources) if s in kb.sources and kb.sources[s].kind == "seed")
    others = sorted(set(provenance.sources) - set(seeds))
    return seeds, others


def extension(provenance: Provenance, kb: KnowledgeBase, facts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    seeds, others = ordered_sources(provenance, kb)
    body: dict[str, Any] = {"kbVersion": provenance.kb_version}
    if facts:
        body["facts"] = facts  # the resources behind each fact the card states
    if provenance.rule_ids:
        body["ruleIds"] = list(provenance.rule_ids)
    if seeds:
        body["seeds"] = seeds
    if others:
        body["sources"] = others
    return {PROVENANCE_KEY: body}


def provenance_line(provenance: Provenance, kb: KnowledgeBase) -> str:
    """"*Rule R3, H1 · KB 2026.2 · Sources: CASTOR; US label; S0 (…); S4 (…)*" (cards.yaml layout.provenance)."""
    return kb.cards.layout.provenance.render(rules=", ".join(provenance.rule_ids), version=provenance.kb_version,
                                             sources=cited_sources(provenance.sources, kb))


def cited_sources(sources: Iterable[str], kb: KnowledgeBase) -> str:
    """Sources as a card names them: trials and labels first, then consensus and publications,
    then the seeds (03 §8.3), each by its short name."""
    rank = {"trial": 0, "label": 1, "seed": 3}
    known = sorted({s for s in sources if s in kb.sources}, key=lambda s: (rank.get(kb.sources[s].kind, 2), s))
    unknown = sorted({s for s in sources if s not in kb.sources})
    return "; ".join([*(escape(kb.sources[s].short) for s in known), *unknown])


def with_provenance(card: dict[str, Any], provenance: Provenance, kb: KnowledgeBase,
                    facts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``card`` with its provenance extension (the card dict is returned, updated in place)."""
    card["extension"] = extension(provenance, kb, facts)
    return card

