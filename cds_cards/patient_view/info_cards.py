"""The relapse cards beside the treatment card (salvage transplant, referral, aggressive disease,
relapse work-up): reasons, the facts used, disagreements, and ServiceRequest suggestions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cds_cards.markdown import bullets, escape, section
from cds_cards.patient_view.common import card, facts_section, service_suggestion

if TYPE_CHECKING:
    from clinical_rules.decisions import InfoCard
    from clinical_rules.patient_view import FamilyContext


def render(info: InfoCard, ctx: FamilyContext) -> list[dict[str, Any]]:
    kb = ctx.kb
    suggestions = [service_suggestion(s, ctx.facts.patient_id, kb) for s in info.services]
    return [card(
        kb,
        summary=info.summary.text,
        indicator=info.indicator,
        topic=info.topic,
        detail_sections=(
            bullets(escape(r.text) for r in info.reasons),
            facts_section(info.facts_used, kb),
            section(kb.cards.layout.disagreements.render(), bullets(escape(d.text) for d in info.disagreements)),
        ),
        provenance=info.provenance,
        suggestions=suggestions,
        selection_behavior="any" if suggestions else None,
        links=info.links,
        override_reasons=info.override_reasons,
        facts_used=info.facts_used,
    )]
