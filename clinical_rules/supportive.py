"""Supportive care for a set of anti-myeloma drugs (03 §4): the single implementation, used for
the recommended regimen in patient-view and for the drafted drugs in the order hooks.

A need (VTE prophylaxis, zoster prophylaxis, ...) is triggered by a drug class, a drug or a whole
regimen among ``drugs``. It is not suggested when the patient already takes an equivalent: a
current drug of a covering class (any anticoagulant covers VTE prophylaxis, any antiviral covers
zoster prophylaxis) or one of the need's own options (aspirin already taken). Drugs drafted beside
(``already_planned``) count as taken.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from clinical_rules.decisions import Coding, SupportiveMeasure
from clinical_rules.doses import starting_dose
from clinical_rules.kb import KnowledgeBase

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts


def supportive_measures(
    drugs: Iterable[str],
    facts: PatientFacts,
    kb: KnowledgeBase,
    *,
    already_planned: Iterable[str] = (),
    already_planned_classes: Iterable[str] = (),
) -> tuple[SupportiveMeasure, ...]:
    """Every supportive measure ``drugs`` call for that the patient does not already have.

    ``already_planned_classes`` are the classes of drugs drafted beside, as the terminology
    recognised them: the knowledge base names only the drugs it suggests, so a drafted
    rivaroxaban or granisetron is known as covering VTE prophylaxis / antiemesis only this way.
    """
    drug_set = frozenset(drugs)
    planned = frozenset(already_planned)
    taken_drugs = facts.current_drugs() | planned
    taken_classes = (
        facts.current_classes() | {c for d in planned for c in kb.classes_of(d)} | frozenset(already_planned_classes)
    )
    measures: list[SupportiveMeasure] = []
    for need in kb.supportive_care:
        triggers = _triggering_drugs(need, drug_set, kb)
        if not triggers or not _indicated(need, facts):
            continue
        if set(need.get("covered_by_classes", ())) & taken_classes:
            continue
        measures.extend(_measures_for(need, triggers, facts, kb, taken_drugs))
    return tuple(measures)


def _triggering_drugs(need: dict[str, Any], drugs: frozenset[str], kb: KnowledgeBase) -> tuple[str, ...]:
    classes = set(need.get("trigger_classes", ()))
    named = set(need.get("trigger_drugs", ()))
    triggers = {d for d in drugs if d in named or classes & set(kb.classes_of(d))}
    for regimen_id in need.get("trigger_regimens", ()):
        regimen_drugs = set(kb.regimens[regimen_id]["drugs"])
        if regimen_drugs <= drugs:
            triggers |= regimen_drugs - {"dexamethasone"}
    return tuple(sorted(triggers))


def _indicated(need: dict[str, Any], facts: PatientFacts) -> bool:
    """Patient-specific conditions beyond the trigger (IgG level, recent LVEF, prior exposure)."""
    igg_limit = need.get("igg_below_mg_dl")
    if igg_limit is not None and (facts.igg_mg_dl is None or facts.igg_mg_dl.value >= igg_limit):
        return False
    lvef_days = need.get("skip_if_lvef_within_days")
    lvef = facts.lvef_percent
    if lvef_days is not None and lvef is not None and lvef.date >= facts.evaluation_date - timedelta(days=lvef_days):
        return False
    return not any(facts.exposed(d) for d in need.get("skip_if_exposed_to", ()))


def _measures_for(
    need: dict[str, Any],
    triggers: tuple[str, ...],
    facts: PatientFacts,
    kb: KnowledgeBase,
    taken_drugs: frozenset[str],
) -> list[SupportiveMeasure]:
    prior_vte = facts.vte_history.present and "prior_vte_options" in need
    options = need["prior_vte_options"] if prior_vte else need.get("options", [])
    if set(options) & taken_drugs:
        return []  # already takes one of the alternatives
    reason = need["prior_vte_reason"] if prior_vte else need["reason"]
    common = {
        "group": need["group"],
        "reason": reason,
        "trigger_drugs": triggers,
        "rule_id": need["rule_id"],
        "seeds": tuple(need["seeds"]),
        "kb_version": kb.version,
    }
    measures = []
    for drug in options:
        dose = starting_dose(drug, None, facts, kb)
        measures.append(
            SupportiveMeasure(
                id=f"{need['group']}:{drug}",
                kind="medication",
                label=f"{need['label']}: {dose.text}",
                drug=drug,
                dose=dose,
                **common,
            )
        )
    for service_key in need.get("services", ()):
        coding = Coding(**kb.services[service_key])
        measures.append(
            SupportiveMeasure(
                id=f"{need['group']}:{service_key}",
                kind="service",
                label=f"{need['label']}: {coding.display}",
                service=coding,
                **common,
            )
        )
    return measures
