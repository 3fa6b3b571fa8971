"""The referral card (03 §3): CAR-T / bispecific antibody / clinical-trial centre, when the
matching row asks for it (penta- or triple-class refractory), after enough prior lines, or when
the row's list emptied under the hard rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clinical_rules.decisions import InfoCard, Provenance, Sentence, say
from clinical_rules.fact_wording import line_facts, refractoriness_facts
from clinical_rules.kb import KnowledgeBase
from clinical_rules.patient_view.common import referral_service
from clinical_rules.patient_view.treatment import matching_row

if TYPE_CHECKING:
    from clinical_rules.patient_view import FamilyContext
    from fhir_mappings.facts import PatientFacts


def referral_reasons(facts: PatientFacts, kb: KnowledgeBase, *, list_emptied: bool, row_id: str = "") -> list[str]:
    """Why the patient is referred, as clauses ("penta-refractory disease"); empty: no referral."""
    texts = kb.cards.referral.reasons
    reasons: list[str] = []
    row = matching_row(facts, kb)
    if row.referral is not None:
        reasons.append(getattr(texts, row.referral).render())
    if facts.prior_lines >= kb.referral.min_prior_lines:
        reasons.append(texts.lines.render(lines=facts.prior_lines))
    if list_emptied:
        reasons.append(texts.emptied.render(row=row_id or row.id))
    return reasons


def decide(ctx: FamilyContext) -> InfoCard | None:
    """The referral card; without a treatment decision (its rule failed) only the patient's own
    reasons (row, lines) can be judged."""
    facts, kb = ctx.facts, ctx.kb
    treatment = ctx.treatment.treatment if ctx.treatment is not None else None
    emptied = treatment is not None and treatment.list_emptied
    row_id = treatment.row_id if treatment is not None else ""
    reasons = referral_reasons(facts, kb, list_emptied=emptied, row_id=row_id)
    if not reasons:
        return None
    texts, params = kb.cards.referral, kb.referral
    review: tuple[Sentence, ...] = ((say(kb.cards.treatment.notes_when["list-emptied"], row=row_id),)
                                    if emptied else ())
    return InfoCard(
        family="referral",
        topic="referral",
        indicator="info",
        summary=say(texts.summary),
        reasons=(*review, say(texts.because, reasons="; ".join(reasons)), say(texts.body)),
        provenance=Provenance.of([params.rule_id], kb.version, params.seeds),
        services=(referral_service("cell-therapy-referral", params.service, texts.referral_label, params.rule_id,
                                   params.seeds, kb),),
        facts_used=(*refractoriness_facts(facts, kb), *line_facts(facts, kb)[-1:]),
        links=tuple((kb.links[name].label, kb.links[name].url) for name in texts.links),
    )
