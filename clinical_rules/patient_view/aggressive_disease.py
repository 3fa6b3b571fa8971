"""The aggressive-disease card (03 §3): plasma cell leukaemia or extramedullary disease — restage,
specialist review, intensive bridging; the treatment card is still given beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clinical_rules.decisions import InfoCard, Provenance, say
from clinical_rules.fact_wording import aggressive_facts, aggressive_findings, progression_facts

if TYPE_CHECKING:
    from clinical_rules.patient_view import FamilyContext


def decide(ctx: FamilyContext) -> InfoCard | None:
    facts, kb = ctx.facts, ctx.kb
    findings = [getattr(kb.facts.findings, name).render() for name, finding in aggressive_findings(facts)
                if finding.present]
    if not findings:
        return None
    texts, params = kb.cards.aggressive, kb.aggressive_disease
    return InfoCard(
        family="aggressive-disease",
        topic="aggressive-disease",
        indicator="critical",
        summary=say(texts.summary, findings=" and ".join(findings)),
        reasons=(say(texts.body),),
        provenance=Provenance.of([params.rule_id], kb.version, params.seeds),
        facts_used=(*aggressive_facts(facts, kb), *progression_facts(facts, kb)),
        override_reasons=tuple((code, kb.override_reasons[code]) for code in texts.override_reasons),
    )
