"""The order checks O1–O12 (03 §6), one small function each; their triggers, thresholds and texts
come from order_checks.yaml, the rules they apply from rules.yaml and doses.yaml — the same hard
rules and doses patient-view uses, so the two never disagree."""

from __future__ import annotations

from clinical_rules.decisions import FactUsed, Sentence, say
from clinical_rules.doses import short_dose, starting_dose, timing_text
from clinical_rules.fact_wording import (
    cytogenetic_facts,
    drafted_fact,
    eligibility_facts,
    finding_fact,
    progression_facts,
    refractory_fact,
    renal_facts,
)
from clinical_rules.hard_rules import drug_exclusion
from clinical_rules.order_checks.context import OrderContext
from clinical_rules.order_checks.findings import DraftChange, Fix, OrderFinding
from clinical_rules.patient_view.treatment import matching_row, preference_list
from fhir_mappings.draft_orders import DraftOrder

_EPSILON = 1e-6
_WEEKLY_PER_DAY = 1 / 7


# -- O1, O2, O12: the drafted drug must go -----------------------------------------------------
def deleting_findings(ctx: OrderContext, draft: DraftOrder) -> list[OrderFinding]:
    """The hard rules patient-view applies (``hard_rules.drug_exclusion``), on the drafted drugs:
    each exclusion is reported by the check that names its rule (O12: H6, O1: H1/H2, O2: H3)."""
    checks = ctx.kb.order_checks
    reporters = {rule: (check_id, report) for check_id, check, report in
                 (("O12", checks.O12, o12_withdrawn), ("O1", checks.O1, o1_refractory), ("O2", checks.O2, o2_population))
                 for rule in check.rules}
    findings = []
    for drug in draft.generics:
        excluded = drug_exclusion(drug, ctx.facts, ctx.kb)
        if excluded is not None and excluded.rule_id in reporters:
            findings.append(reporters[excluded.rule_id][1](ctx, draft, drug, excluded.rule_id, excluded.reason))
    if findings:
        ctx.deleted.add(draft.resource_id)
    return findings


def _remove(ctx: OrderContext, draft: DraftOrder, label: str | None = None) -> Fix:
    return Fix("delete", label or ctx.kb.order_texts.remove.render(draft=draft.label), draft=draft)


def o1_refractory(ctx: OrderContext, draft: DraftOrder, drug: str, rule: str, reason: Sentence) -> OrderFinding:
    check = ctx.kb.order_checks.O1
    label = ctx.kb.order_texts.remove.render(draft=draft.label)
    # Refractory to the drug itself (H2 is lenalidomide's own refractoriness), or excluded with
    # its class: the wording must not claim refractoriness to a drug never given.
    own = rule == "H2" or ctx.facts.is_refractory(drug)
    summary, explanation = (check.summary, check.explanation) if own else (check.class_summary, check.class_explanation)
    notes = [say(explanation, reason=_capitalise(reason.text), rule=rule)]
    treatment = ctx.treatment()
    recommended = treatment.recommended if treatment is not None else None
    if recommended is not None and ctx.safe(recommended.regimen_id):
        label = check.recommended_instead.render(label=label, regimen=recommended.label)
        notes.append(say(check.recommended_note, regimen=recommended.label))
    return ctx.finding("O1", check, say(summary, drug=_capitalise(drug), rule=rule), notes,
                       refractory_evidence(drug, ctx), drafts=(draft,), fixes=(_remove(ctx, draft, label),),
                       rules=(rule,))


def o2_population(ctx: OrderContext, draft: DraftOrder, drug: str, rule: str, reason: Sentence) -> OrderFinding:
    check = ctx.kb.order_checks.O2
    results = [c for c in ctx.facts.cytogenetics if c.abnormality == "t11_14"]
    if results:
        latest = results[-1]
        result = (ctx.kb.facts.positive if latest.positive else ctx.kb.facts.negative).render()
        detail = check.result.render(result=result)
    else:
        detail = check.no_result.render()
    used = cytogenetic_facts(ctx.facts, ctx.kb, "t11_14")[-1:]
    return ctx.finding("O2", check, say(check.summary, drug=_capitalise(drug), detail=detail),
                       [say(check.explanation)], used, drafts=(draft,), fixes=(_remove(ctx, draft),))


def o12_withdrawn(ctx: OrderContext, draft: DraftOrder, drug: str, rule: str, reason: Sentence) -> OrderFinding:
    check = ctx.kb.order_checks.O12
    notes = [say(check.explanation, drug=_capitalise(drug))]
    decision = ctx.kb.decisions.get(ctx.kb.hard_rules.withdrawn.get(drug, ""))
    if decision is not None:
        # Where the seeds disagree with the current status, say so (04 §1).
        notes.append(say(check.decision, id=decision.id, decision=decision.decision, seeds=decision.seeds))
    return ctx.finding("O12", check, say(check.summary, drug=_capitalise(drug), rule=rule), notes,
                       [drafted_fact(draft.label, ctx.kb)], drafts=(draft,), fixes=(_remove(ctx, draft),))


def refractory_evidence(drug: str, ctx: OrderContext) -> list[FactUsed]:
    """The refractoriness behind an H1/H2 exclusion of ``drug``: its own progression on it, a
    class-wide member's (anti-CD38), or the refractory PIs that exclude ixazomib."""
    facts, kb = ctx.facts, ctx.kb
    history = facts.history(drug)
    if history is not None and history.refractory:
        return [refractory_fact(history, kb)]
    used: list[FactUsed] = []
    for drug_class in kb.hard_rules.class_wide_refractoriness:
        if drug_class in kb.classes_of(drug):
            used += [refractory_fact(h, kb) for m in kb.class_members(drug_class)
                     if (h := facts.history(m)) is not None and h.refractory]
    if not used and drug in kb.hard_rules.pi_refractory_excludes:
        used += [refractory_fact(h, kb) for h in facts.drug_histories if h.refractory and "PI" in h.classes]
    return used or list(progression_facts(facts, kb))


# -- O8, O11: warnings without a fix -------------------------------------------------------------
def o8_carfilzomib_heart(ctx: OrderContext, draft: DraftOrder) -> OrderFinding | None:
    check, facts = ctx.kb.order_checks.O8, ctx.facts
    drug = next((d for d in check.drugs if draft.names(d)), None)
    if drug is None or not facts.heart_failure.present:
        return None
    lvef = facts.lvef_percent
    if lvef is not None and lvef.value < ctx.kb.derivation_parameters.heart_failure_lvef_below:
        finding = check.finding_lvef.render(value=f"{lvef.value:g}", date=lvef.date.isoformat())
    else:
        finding = check.finding_heart_failure.render()
    return ctx.finding("O8", check, say(check.summary, finding=finding), [say(check.explanation)],
                       [finding_fact("heart_failure", facts.heart_failure, ctx.kb)], drafts=(draft,))


def o11_without_companion(ctx: OrderContext, draft: DraftOrder) -> OrderFinding | None:
    check = ctx.kb.order_checks.O11
    if not draft.names(check.drug) or set(check.needs) & ctx.drafted:
        return None
    drafted = ", ".join(sorted(ctx.drafted)) or draft.label
    return ctx.finding("O11", check, say(check.summary), [say(check.explanation)],
                       [drafted_fact(drafted, ctx.kb)], drafts=(draft,))


# -- O6, O7, O9: the draft should be changed ---------------------------------------------------
def o6_renal_dose(ctx: OrderContext, draft: DraftOrder) -> OrderFinding | None:
    check, kb = ctx.kb.order_checks.O6, ctx.kb
    for drug in draft.generics:
        if drug not in kb.renally_dosed or draft.dose is None:
            continue
        target = starting_dose(drug, ctx.regimen_id, ctx.facts, kb)
        too_much = draft.dose.unit == target.unit and draft.dose.value > target.value + _EPSILON
        too_often = (draft.timing is not None
                     and draft.timing.per_day >= check.frequency_ratio * _per_day(target) - _EPSILON)
        if not (too_much or too_often):
            continue
        drafted = f"{draft.dose.value:g} {draft.dose.unit}"
        if draft.timing is not None:
            drafted += f" {timing_text(draft.timing.frequency, draft.timing.period, draft.timing.period_unit, kb)}"
        short = short_dose(target, kb)
        change = DraftChange(dose=target, description=check.change.render(drug=drug, target_text=target.text))
        used = [*renal_facts(ctx.facts, kb), *eligibility_facts(ctx.facts, kb)[:1]]
        return ctx.finding("O6", check, say(check.summary, drug=_capitalise(drug), drafted=drafted, target=short),
                           [say(check.explanation, drafted=drafted, target_text=target.text)], used, drafts=(draft,),
                           fixes=(Fix("update", check.fix_label.render(target=short), draft=draft, change=change),))
    return None


def o7_elderly_dose(ctx: OrderContext, draft: DraftOrder) -> OrderFinding | None:
    check, kb, facts = ctx.kb.order_checks.O7, ctx.kb, ctx.facts
    if not draft.names(check.drug) or draft.dose is None or draft.dose.unit != "mg":
        return None
    weekly = draft.timing is None or draft.timing.per_day <= _WEEKLY_PER_DAY + _EPSILON
    # The age rule lives in doses.yaml: the standard weekly dose for this patient says it.
    target = starting_dose(check.drug, None, facts, kb)
    if not weekly or draft.dose.value < check.min_drafted_mg or target.value >= draft.dose.value - _EPSILON:
        return None
    values = {"age": facts.age, "target": f"{target.value:g}", "drafted": f"{draft.dose.value:g}"}
    notes = [say(check.explanation, **values), *(say(check.adjustment, adjustment=a.text) for a in target.adjustments)]
    change = DraftChange(dose=target, amount_only=True, description=check.change.render(target=values["target"]))
    return ctx.finding("O7", check, say(check.summary, **values), notes, eligibility_facts(facts, kb)[:1],
                       drafts=(draft,),
                       fixes=(Fix("update", check.fix_label.render(target=values["target"]), draft=draft,
                                  change=change),))


def o9_route(ctx: OrderContext, draft: DraftOrder) -> OrderFinding | None:
    check, facts = ctx.kb.order_checks.O9, ctx.facts
    if not draft.names(check.drug) or draft.route != check.drafted_route or not facts.neuropathy.present:
        return None
    target = starting_dose(check.drug, ctx.regimen_id, facts, ctx.kb)
    change = DraftChange(dose=target, route=check.route, description=check.change.render())
    label = check.fix_label.render(target=short_dose(target, ctx.kb))
    return ctx.finding("O9", check, say(check.summary), [say(check.explanation, target_text=target.text)],
                       [finding_fact("neuropathy", facts.neuropathy, ctx.kb)], drafts=(draft,),
                       fixes=(Fix("update", label, draft=draft, change=change),))


# -- O10: regimen intensity ------------------------------------------------------------------------
def o10_doublet(ctx: OrderContext) -> OrderFinding | None:
    check, kb, facts = ctx.kb.order_checks.O10, ctx.kb, ctx.facts
    antimyeloma = {drug.generic for d in ctx.drafts for drug in d.drugs if drug.is_antimyeloma}
    steroids = {drug.generic for d in ctx.drafts for drug in d.drugs if drug.is_steroid}
    if len(antimyeloma) != 1 or not steroids or facts.frail:
        return None
    (drug,) = antimyeloma
    judged = {g for d in ctx.judged for g in d.generics}
    if not judged & (antimyeloma | steroids) or _doublet_allowed_for_anyone(ctx):
        return None
    draft = next(d for d in ctx.drafts if drug in d.generics)
    notes = [say(check.explanation)]
    triplets = _triplet_options(ctx, drug)
    if triplets:
        notes.append(say(check.triplets, regimens="; ".join(triplets)))
    used = [*eligibility_facts(facts, kb), drafted_fact(", ".join(sorted(antimyeloma | steroids)), kb)]
    link = kb.links[check.link]
    return ctx.finding("O10", check, say(check.summary, drug=drug, steroids=", ".join(sorted(steroids))), notes, used,
                       drafts=(draft,), links=((link.label, link.url),))


def _doublet_allowed_for_anyone(ctx: OrderContext) -> bool:
    """H4: outside the frail-only rows (R1/R2) the doublets on the row's own list are for anyone."""
    regimen_id = ctx.regimen_id
    if regimen_id is None:
        return False
    row = matching_row(ctx.facts, ctx.kb)
    if row.id in ctx.kb.hard_rules.doublets_frail_only_rows:
        return False
    return regimen_id in preference_list(row, ctx.facts, ctx.kb)[1]


def _triplet_options(ctx: OrderContext, drug: str) -> list[str]:
    """Triplets to consider: the relapse algorithm's options when the patient is at relapse, else
    the knowledge base's triplets with the drafted drug; never one the hard rules exclude."""
    kb = ctx.kb
    treatment = ctx.treatment()
    options = [o.regimen_id for o in treatment.options if kb.regimens[o.regimen_id].kind == "triplet"] \
        if treatment is not None else []
    if not options:
        options = [rid for rid, r in kb.regimens.items() if r.kind == "triplet" and drug in r.drugs]
    return [kb.regimen_label(rid) for rid in options if ctx.safe(rid)]


def _per_day(dose) -> float:  # noqa: ANN001 - a clinical_rules.decisions.Dose
    hours = {"h": 1.0, "d": 24.0, "wk": 168.0}[dose.period_unit]
    return dose.frequency * 24.0 / (dose.period * hours)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]

