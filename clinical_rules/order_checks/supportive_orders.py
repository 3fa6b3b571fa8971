"""Supportive care for the drafted drugs (03 §4, §6): O3–O5 for the prophylaxis each names, and
one SC-DRAFTED card per other need (PJP prophylaxis, immunoglobulin, baseline echocardiogram and
ECG, type and screen) — the same supportive-care rule patient-view applies, with the drugs
drafted beside counting as taken."""

from __future__ import annotations

from clinical_rules.decisions import FactUsed, SupportiveMeasure, say
from clinical_rules.fact_wording import drafted_fact, finding_fact
from clinical_rules.kbmodel.orders import ProphylaxisCheck, SupportiveCheck
from clinical_rules.kbmodel.supportive import SupportiveNeed
from clinical_rules.order_checks.context import OrderContext
from clinical_rules.order_checks.findings import Fix, OrderFinding
from clinical_rules.predicates import Situation, evaluate
from clinical_rules.supportive import supportive_measures


def supportive_findings(ctx: OrderContext) -> list[OrderFinding]:
    skipped = ctx.deleted | ctx.unjudgeable
    triggers = [g for d in ctx.judged if d.resource_id not in skipped for g in d.generics]
    if not triggers:
        return []
    planned = [g for d in ctx.drafts for g in d.generics]
    planned_classes = {c for d in ctx.drafts for drug in d.drugs for c in drug.classes}
    measures = supportive_measures(triggers, ctx.facts, ctx.kb, already_planned=planned,
                                   already_planned_classes=planned_classes, already_planned_services=ctx.drafted_services)
    prophylaxis = {check.need: (check_id, check) for check_id, check in
                   (("O3", ctx.kb.order_checks.O3), ("O4", ctx.kb.order_checks.O4), ("O5", ctx.kb.order_checks.O5))}
    by_need: dict[str, list[SupportiveMeasure]] = {}
    for measure in measures:
        if not (measure.need in prophylaxis and _already_covered(ctx, measure.need, planned)):
            by_need.setdefault(measure.need, []).append(measure)
    return [_finding(ctx, need, options, prophylaxis.get(need)) for need, options in by_need.items()]


def _finding(ctx: OrderContext, need: str, options: list[SupportiveMeasure],
             prophylaxis: tuple[str, ProphylaxisCheck] | None) -> OrderFinding:
    kb = ctx.kb
    triggers = tuple(dict.fromkeys(t for m in options for t in m.trigger_drugs))
    trigger = ", ".join(triggers)
    drugs = " or ".join(m.drug for m in options if m.drug)
    services_only = all(m.kind == "service" for m in options)
    check: ProphylaxisCheck | SupportiveCheck
    if prophylaxis is not None:
        check_id, check = prophylaxis
        summary = say(check.summary, drug=_capitalise(trigger), options=drugs)
        indicator = check.indicator
    else:
        check_id, check = "SC-DRAFTED", kb.order_checks.supportive
        label = options[0].need_label
        shown = check.need_options.render(need=label, options=drugs) if drugs else label
        summary = say(check.summary, drug=_capitalise(trigger), options=shown)
        # Tests and baseline work-up are informational; missing prophylaxis warns.
        indicator = check.service_indicator if services_only else check.indicator
    fixes = tuple(Fix("create", m.label, measure=m) for m in options)
    reasons = list(dict.fromkeys(m.reason for m in options))
    if isinstance(check, ProphylaxisCheck) and check.caution_when is not None and check.caution is not None:
        situation = Situation(ctx.facts, kb, drafted=triggers, hook_orders=True)
        if evaluate(check.caution_when, situation) is not None:
            reasons.append(say(check.caution))
    used = [drafted_fact(trigger, kb), *order_facts(ctx, kb.supportive_care[need])]
    # The card applies the need's rule (SC-VTE ...) with the need's sources beside the check's.
    return ctx.finding(check_id, check, summary, reasons, used, rules=(options[0].rule_id,), indicator=indicator,
                       sources=[s for m in options for s in m.seeds],
                       drafts=tuple(d for d in ctx.judged if set(d.generics) & set(triggers)), fixes=fixes,
                       # Medication options of one need are alternatives; tests (echo + ECG) are all wanted.
                       alternatives=not services_only and len(options) > 1)


def _already_covered(ctx: OrderContext, need: str, planned: list[str]) -> bool:
    """O3–O5 ask for the prophylaxis only when *none* is current or drafted: any of the need's
    options counts, including those of the other risk tier (aspirin drafted for a patient with a
    prior VTE is VTE prophylaxis; the card would not be "missing prophylaxis")."""
    entry = ctx.kb.supportive_care[need]
    equivalents = {*entry.options, *entry.prior_vte_options}
    return bool(equivalents & (ctx.facts.current_drugs() | set(planned)))


def order_facts(ctx: OrderContext, need: SupportiveNeed) -> list[FactUsed]:
    """What the patient's record says about the need (supportive.yaml ``order_facts``)."""
    facts, kb = ctx.facts, ctx.kb
    texts = kb.facts
    used: list[FactUsed] = []
    for name in need.order_facts:
        if name == "prior-vte":
            used.append(finding_fact("vte_history", facts.vte_history, kb) if facts.vte_history.present
                        else FactUsed(say(texts.no_vte_history)))
        elif name == "not-covered" and need.not_covered is not None:
            current = sorted(facts.current_drugs())
            taking = (texts.current_drugs.render(drugs=", ".join(current)) if current
                      else texts.no_current_drugs.render())
            used.append(FactUsed(say(need.not_covered, taking=taking)))
        elif name == "lvef":
            lvef = facts.lvef_percent
            used.append(FactUsed(say(texts.lvef_older, value=f"{lvef.value:g}", date=lvef.date.isoformat(),
                                     days=need.skip_if_lvef_within_days), (lvef.evidence,))
                        if lvef is not None else FactUsed(say(texts.no_lvef)))
        elif name == "first-anti-cd38":
            members = [m for c in need.skip_if_exposed_to_classes for m in kb.class_members(c)]
            used.append(FactUsed(say(texts.first_anti_cd38, drugs=" or ".join(members))))
        elif name == "igg" and facts.igg_mg_dl is not None:
            igg = facts.igg_mg_dl
            used.append(FactUsed(say(texts.igg, value=f"{igg.value:g}", date=igg.date.isoformat()), (igg.evidence,)))
    return used


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
