"""The data-gap card (04 §5): every missing input with what to record; a warning when renal
dosing is blocked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cds_cards.markdown import bullets, escape
from cds_cards.patient_view.common import card, facts_section

if TYPE_CHECKING:
    from clinical_rules.decisions import DataGapCard
    from clinical_rules.patient_view import FamilyContext


def render(gaps: DataGapCard, ctx: FamilyContext) -> list[dict[str, Any]]:
    kb = ctx.kb
    record = kb.cards.layout.record
    lines = [record.render(text=escape(g.text.text), record=escape(g.record.text)) for g in gaps.gaps]
    return [card(
        kb,
        summary=gaps.summary.text,
        indicator="warning" if gaps.blocks_dosing else "info",
        topic="data-gap",
        # The gaps speak for themselves at relapse (the treatment card lists the facts); an
        # unconfirmed rise has no other card, so its measurements are shown here.
        detail_sections=(bullets(lines), facts_section(gaps.facts_used, kb)),
        provenance=gaps.provenance,
        override_reasons=gaps.override_reasons,
    )]
