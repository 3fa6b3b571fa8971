"""What the patient-view cards share: the card frame (topic display, provenance line and
extension) and suggestions that create a ServiceRequest."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cds_cards.builder import Action, Link, OverrideReason, Suggestion, build_card
from cds_cards.fhir_resources import service_request
from cds_cards.markdown import fact_line, fact_references
from cds_cards.provenance import provenance_line, with_provenance

if TYPE_CHECKING:
    from clinical_rules.decisions import FactUsed, Provenance, ServiceProposal
    from clinical_rules.kb import KnowledgeBase


def card(kb: KnowledgeBase, *, summary: str, indicator: str, topic: str, provenance: Provenance,
         detail_sections: Iterable[str] = (), detail: str | None = None, source_label: str | None = None, suggestions: Sequence[Suggestion] = (),
         selection_behavior: str | None = None, links: Sequence[tuple[str, str]] = (),
         override_reasons: Sequence[tuple[str, str]] = (),
         facts_used: Iterable[FactUsed] = ()) -> dict[str, Any]:
    """A card whose detail (``detail``, or the sections joined) ends with its provenance line and
    which carries the same provenance in its extension."""
    from cds_cards.markdown import join_sections

    built = build_card(
        summary=summary,
        indicator=indicator,
        topic=topic,
        topic_display=kb.cards.topics[topic],
        source_label=source_label or kb.source_label,
        detail=detail if detail is not None else join_sections(*detail_sections, provenance_line(provenance, kb)),
        suggestions=suggestions,
        selection_behavior=selection_behavior,
        links=[Link(label=label, url=url) for label, url in links],
        override_reasons=[OverrideReason(code=code, display=display) for code, display in override_reasons],
    )
    return with_provenance(built, provenance, kb, fact_references(facts_used))


def facts_section(facts: Iterable[FactUsed], kb: KnowledgeBase) -> str:
    from cds_cards.markdown import section

    return section(kb.cards.layout.facts_used.render(), "\n".join(fact_line(f, kb) for f in facts))


def service_suggestion(service: ServiceProposal, patient_id: str, kb: KnowledgeBase) -> Suggestion:
    layout = kb.cards.layout
    label = service.label.text
    note = layout.suggested_by_rule.render(rule=service.rule_id, version=kb.version)
    resource = service_request(service.coding, patient_id, text=label, reason=service.reason.text, note=note)
    action = Action(type="create", description=layout.request.render(what=label), resource=resource)
    return Suggestion(label=label, actions=(action,), is_recommended=True)
