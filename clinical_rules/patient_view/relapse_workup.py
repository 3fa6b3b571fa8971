"""The relapse work-up card (03 §3, decision D11): marrow FISH for the progression-associated
abnormalities not already documented positive (never the primary translocations again), with the
marrow sample for it, and restaging imaging for extramedullary disease."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clinical_rules.decisions import InfoCard, Provenance, ServiceProposal, say
from clinical_rules.fact_wording import cytogenetic_facts, progression_facts
from clinical_rules.kb import KnowledgeBase
from clinical_rules.patient_view.common import coding

if TYPE_CHECKING:
    from clinical_rules.patient_view import FamilyContext


def decide(ctx: FamilyContext) -> InfoCard:
    facts, kb = ctx.facts, ctx.kb
    params, texts = kb.relapse_workup, kb.cards.workup
    positive = {r.abnormality for r in facts.cytogenetics if r.positive}
    reasons = [say(texts.fish_on_file if facts.cytogenetics_on_file else texts.no_cytogenetics)]
    # An abnormality already documented positive stays positive: no need to test it again.
    fish = [_proposal(service, kb) for abnormality, service in params.fish.items() if abnormality not in positive]
    services = [_proposal(params.marrow_sample, kb), *fish] if fish else []
    reasons.append(say(texts.imaging))
    services.append(_proposal(params.imaging, kb))
    named = [texts.services[s.id].short for s in services if texts.services[s.id].short is not None]
    return InfoCard(
        family="relapse-workup",
        topic="relapse-workup",
        indicator="info",
        summary=say(texts.summary, items=", ".join(t.render() for t in named if t is not None)),
        reasons=tuple(reasons),
        provenance=Provenance.of([params.rule_id], kb.version, params.seeds),
        disagreements=(say(texts.disagreement, decision=params.decision),),
        services=tuple(services),
        facts_used=(*progression_facts(facts, kb), *cytogenetic_facts(facts, kb)),
    )


def _proposal(service: str, kb: KnowledgeBase) -> ServiceProposal:
    texts = kb.cards.workup.services[service]
    params = kb.relapse_workup
    return ServiceProposal(id=service, label=say(texts.label), coding=coding(service, kb), reason=say(texts.reason),
                           rule_id=params.rule_id, seeds=params.seeds)
