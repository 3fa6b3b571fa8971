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
from typing import TYPE_CHECKING

from clinical_rules.decisions import Coding, SupportiveMeasure, say
from clinical_rules.doses import starting_dose
from clinical_rules.kb import KnowledgeBase
from clinical_rules.kbmodel.supportive import SupportiveNeed

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts


def supportive_measures(
    drugs: Iterable[str],
    facts: PatientFacts,
    kb: KnowledgeBase,
    *,
    already_planned: Iterable[str] = (),
    already_planned_classes: Iterable[str] = (),
    already_planned_services: Iterable[tuple[str, str]] = (),
) -> tuple[SupportiveMeasure, ...]:
    """Every supportive measure ``drugs`` call for that the patient does not already have.

    ``already_planned_classes`` are the classes of drugs drafted beside, as the terminology
    recognised them (a drafted rivaroxaban or granisetron covers VTE prophylaxis / antiemesis);
    ``already_planned_services`` the (system, code) of tests drafted beside (not suggested again).
    """
    planned_services = frozenset(already_planned_services)
    drug_set = frozenset(drugs)
    planned = frozenset(already_planned)
    taken_drugs = facts.current_drugs() | planned
    taken_classes = (
        facts.current_classes() | {c for d in planned for c in kb.classes_of(d)} | frozenset(already_planned_classes)
    )
    measures: list[SupportiveMeasure] = []
    for name, need in kb.supportive_care.items():
        triggers = _triggering_drugs(need, drug_set, kb)
        if not triggers or not _indicated(need, facts, kb):
            continue
        if set(need.covered_by_classes) & taken_classes:
            continue
        measures.extend(m for m in _measures_for(name, need, triggers, facts, kb, taken_drugs)
                        if m.service is None or (m.service.system, m.service.code) not in planned_services)
    return tuple(measures)


def _triggering_drugs(need: SupportiveNeed, drugs: frozenset[str], kb: KnowledgeBase) -> tuple[str, ...]:
    classes = set(need.trigger_classes)
    named = set(need.trigger_drugs)
    triggers = {d for d in drugs if d in named or classes & set(kb.classes_of(d))}
    exempt = set(kb.hard_rules.refractory_exempt)
    for regimen_id in need.trigger_regimens:
        regimen_drugs = set(kb.regimens[regimen_id].drugs)
        if regimen_drugs <= drugs:
            triggers |= regimen_drugs - exempt
    for combination in need.trigger_combinations:
        present = set(combination.any_of) & drugs
        if present and set(combination.with_) <= drugs:
            triggers |= present
    return tuple(sorted(triggers))


def _indicated(need: SupportiveNeed, facts: PatientFacts, kb: KnowledgeBase) -> bool:
    """Patient-specific conditions beyond the trigger (IgG level, recent LVEF, prior exposure)."""
    if need.igg_below_mg_dl is not None:
        igg = facts.igg_mg_dl
        recent = facts.evaluation_date - kb.derivation_parameters.days("igg_recent_days")
        if igg is None or igg.date < recent or igg.value >= need.igg_below_mg_dl:
            return False
    lvef_days = need.skip_if_lvef_within_days
    lvef = facts.lvef_percent
    if lvef_days is not None and lvef is not None and lvef.date >= facts.evaluation_date - timedelta(days=lvef_days):
        return False
    exposed_classes = {c for e in facts.exposures for c in e.classes}
    return not set(need.skip_if_exposed_to_classes) & exposed_classes


def _measures_for(
    name: str,
    need: SupportiveNeed,
    triggers: tuple[str, ...],
    facts: PatientFacts,
    kb: KnowledgeBase,
    taken_drugs: frozenset[str],
) -> list[SupportiveMeasure]:
    prior_vte = facts.vte_history.present and bool(need.prior_vte_options)
    options = need.prior_vte_options if prior_vte else need.options
    if set(options) & taken_drugs:
        return []  # already takes one of the alternatives
    template = need.prior_vte_reason if prior_vte and need.prior_vte_reason is not None else need.reason
    reason = say(template, igg_below_mg_dl=_number(need.igg_below_mg_dl),
                 skip_if_lvef_within_days=need.skip_if_lvef_within_days)
    label = kb.supportive_texts.measure_label
    measures = []
    for drug in options:
        dose = starting_dose(drug, None, facts, kb)
        measures.append(SupportiveMeasure(
            id=f"{name}:{drug}", need=name, need_label=need.label, kind="medication",
            label=label.render(need=need.label, what=dose.text), reason=reason, trigger_drugs=triggers,
            rule_id=need.rule_id, seeds=need.seeds, kb_version=kb.version, drug=drug, dose=dose,
        ))
    for service_key in need.services:
        service = kb.services[service_key]
        coding = Coding(service.system, service.code, service.display)
        measures.append(SupportiveMeasure(
            id=f"{name}:{service_key}", need=name, need_label=need.label, kind="service",
            label=label.render(need=need.label, what=coding.display), reason=reason, trigger_drugs=triggers,
            rule_id=need.rule_id, seeds=need.seeds, kb_version=kb.version, service=coding,
        ))
    return measures


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"
