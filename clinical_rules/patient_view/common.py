"""What several patient-view families share: ServiceRequest proposals from the knowledge base."""

from __future__ import annotations

from clinical_rules.decisions import Coding, ServiceProposal, say
from clinical_rules.kb import KnowledgeBase
from clinical_rules.kbmodel.templates import Template


def coding(service: str, kb: KnowledgeBase) -> Coding:
    entry = kb.services[service]
    return Coding(entry.system, entry.code, entry.display)


def referral_service(proposal_id: str, service: str, label: Template, rule_id: str, seeds: tuple[str, ...],
                     kb: KnowledgeBase) -> ServiceProposal:
    """A referral is proposed as a ServiceRequest (never as a drug order)."""
    return ServiceProposal(id=proposal_id, label=say(label), coding=coding(service, kb), reason=say(label),
                           rule_id=rule_id, seeds=seeds)
