"""The data-gap card (04 §5): every missing input with what to record; a warning when renal
dosing is blocked."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cds_cards.markdown import bullets, escape
from cds_cards.patient_view.common import card, facts_section
from clinical_rules.patient_view.data_gaps import reported_card

if TYPE_CHECKING:
    from clinical_rules.decisions import DataGapCard, ReportedGap
    from clinical_rules.kb import KnowledgeBase
    from clinical_rules.patient_view import FamilyContext
    from fhir_mappings.facts import PatientFacts


def render(gaps: DataGapCard, ctx: FamilyContext) -> list[dict[str, Any]]:
    return [render_card(gaps, ctx.kb)]


def render_reported(reported: Iterable[ReportedGap], kb: KnowledgeBase, *, source_label: str,
                    facts: PatientFacts | None = None, drafted: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The order hooks' data-gap card: gaps of the drafted drugs and the caller's (none when there are none)."""
    gaps = reported_card(reported, kb, facts=facts, drafted=drafted)
    return [render_card(gaps, kb, source_label=source_label)] if gaps is not None else []


def render_card(gaps: DataGapCard, kb: KnowledgeBase, *, source_label: str | None = None) -> dict[str, Any]:
    record = kb.cards.layout.record
    lines = [record.render(text=escape(g.text.text), record=escape(g.record.text)) for g in gaps.gaps]
    return card(
        kb,
        source_label=source_label,
        summary=gaps.summary.text,
        indicator="warning" if gaps.blocks_dosing else "info",
        topic="data-gap",
        # The gaps speak for themselves at relapse (the treatment card lists the facts); an
        # unconfirmed rise has no other card, so its measurements are shown here.
        detail_sections=(bullets(lines), facts_section(gaps.facts_used, kb)),
        provenance=gaps.provenance,
        override_reasons=gaps.override_reasons,
        facts_used=gaps.facts_used,
    )
