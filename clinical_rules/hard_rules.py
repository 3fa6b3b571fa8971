"""Hard rules H1–H6 (03 §2), applied to every suggested regimen and drafted drug in every hook.

``drug_exclusion`` judges one drug (H6 withdrawn, H1 refractoriness incl. class-wide
refractoriness and no switch to ixazomib after PI-refractory disease, H2 lenalidomide, H3 drugs
limited to a population); ``exclusion_reason`` judges a regimen of a row's list (its drugs, then
the populations it is limited to, H4's agents the patient is not refractory to and H4's doublet
rule). Every list and population comes from rules.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clinical_rules.decisions import Sentence, say
from clinical_rules.fact_tests import condition_holds
from clinical_rules.kb import KnowledgeBase

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts


@dataclass(frozen=True, slots=True)
class Excluded:
    rule_id: str
    reason: Sentence
    drug: str | None = None


def drug_exclusion(drug: str, facts: PatientFacts, kb: KnowledgeBase) -> Excluded | None:
    """Why ``drug`` may not be suggested to this patient, or None."""
    rules, texts = kb.hard_rules, kb.cards.exclusions
    if drug in rules.withdrawn:
        return Excluded("H6", say(texts.withdrawn, drug=drug), drug)
    if drug in rules.refractory_exempt:
        return None
    if drug == "lenalidomide" and (facts.lenalidomide_refractory or facts.is_refractory(drug)):
        return Excluded("H2", say(texts.lenalidomide_refractory), drug)
    if facts.is_refractory(drug):
        return Excluded("H1", say(texts.refractory, drug=drug), drug)
    for drug_class in rules.class_wide_refractoriness:
        if drug_class in kb.classes_of(drug) and class_refractory(drug_class, facts, kb):
            return Excluded("H1", say(texts.class_refractory, drug_class=drug_class, drug=drug), drug)
    if drug in rules.pi_refractory_excludes and facts.pi_refractory:
        return Excluded("H1", say(texts.pi_refractory_switch, drug=drug), drug)
    population = rules.drug_populations.get(drug)
    if population is not None and not in_population(population, facts, kb):
        return Excluded(kb.populations[population].rule, _outside(drug, population, kb), drug)
    return None


def exclusion_reason(regimen_id: str, row_id: str, facts: PatientFacts, kb: KnowledgeBase) -> Excluded | None:
    """Why ``regimen_id`` drops out of row ``row_id``'s list for this patient, or None."""
    regimen, texts = kb.regimens[regimen_id], kb.cards.exclusions
    for drug in regimen.drugs:
        excluded = drug_exclusion(drug, facts, kb)
        if excluded is not None:
            return excluded
    for population in regimen.requires:
        if not in_population(population, facts, kb):
            return Excluded(kb.populations[population].rule, _outside(regimen_id, population, kb))
    agents = [d for d in regimen.drugs if d not in kb.hard_rules.refractory_exempt]
    active = [d for d in agents if not facts.is_refractory(d)]
    if regimen.kind != "doublet" and len(active) < kb.hard_rules.min_non_refractory_agents:
        return Excluded("H4", say(texts.too_few_active_agents, regimen=regimen_id))
    if regimen.kind == "doublet" and row_id in kb.hard_rules.doublets_frail_only_rows and not facts.frail:
        return Excluded("H4", say(texts.frail_only_doublet, regimen=regimen_id, row=row_id))
    return None


def in_population(name: str, facts: PatientFacts, kb: KnowledgeBase) -> bool:
    """The patient is in population ``name`` of rules.yaml (e.g. the Xd label population)."""
    return condition_holds(kb.populations[name].when, facts)


def class_refractory(drug_class: str, facts: PatientFacts, kb: KnowledgeBase) -> bool:
    """Refractory to any member of ``drug_class`` (anti-CD38: to daratumumab or isatuximab)."""
    if drug_class == "anti-CD38" and facts.anti_cd38_refractory:
        return True
    return any(facts.is_refractory(member) for member in kb.class_members(drug_class))


def _outside(subject: str, population: str, kb: KnowledgeBase) -> Sentence:
    description = kb.cards.populations[population].render(**kb.populations[population].when)
    return say(kb.cards.exclusions.outside_population, subject=subject, population=description)
