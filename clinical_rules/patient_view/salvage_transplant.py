"""The salvage-transplant card (03 §3): first or second relapse, transplant-eligible (proxy), and
never transplanted or long enough after the last ASCT; between the seeds' thresholds it says
they disagree. Too soon after the last ASCT, the treatment card says so instead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clinical_rules.decisions import InfoCard, Provenance, Sentence, say
from clinical_rules.fact_wording import compact_eligibility, transplant_facts
from clinical_rules.patient_view.common import referral_service

if TYPE_CHECKING:
    from clinical_rules.patient_view import FamilyContext


def decide(ctx: FamilyContext) -> InfoCard | None:
    facts, kb = ctx.facts, ctx.kb
    params, texts = kb.salvage_transplant, kb.cards.salvage_transplant
    if facts.prior_lines > params.max_prior_lines or not facts.transplant_eligible:
        return None
    reasons: list[Sentence] = []
    disagreements: list[Sentence] = []
    if not facts.transplants:
        reasons.append(say(texts.never_transplanted))
    else:
        months = facts.months_asct_to_progression
        if months is None or months < params.min_months_after_asct:
            return None
        reasons.append(say(texts.after_asct, months=f"{months:.0f}"))
        if months < params.sources_agree_months:
            disagreements.append(say(texts.disagreement))
    reasons.append(say(texts.relapse, lines=facts.prior_lines))
    reasons.append(say(texts.proxy))
    return InfoCard(
        family="salvage-transplant",
        topic="salvage-transplant",
        indicator="info",
        summary=say(texts.summary),
        reasons=tuple(reasons),
        provenance=Provenance.of([params.rule_id], kb.version, params.seeds),
        disagreements=tuple(disagreements),
        services=(referral_service("transplant-referral", params.service, texts.referral_label, params.rule_id,
                                   params.seeds, kb),),
        facts_used=(*transplant_facts(facts, kb, compact=True), *compact_eligibility(facts, kb)),
    )
