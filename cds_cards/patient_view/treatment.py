"""The treatment card and, when the regimen needs any, its supportive-care card (04 §2, §3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cds_cards.builder import Action, Suggestion
from cds_cards.fhir_resources import medication_request, service_request
from cds_cards.markdown import bullets, escape, section
from cds_cards.patient_view.common import card, facts_section
from cds_cards.provenance import cited_sources
from clinical_rules.decisions import Provenance

if TYPE_CHECKING:
    from clinical_rules.decisions import RegimenOption, SupportiveMeasure, TreatmentDecision, TreatmentFamily
    from clinical_rules.patient_view import FamilyContext


def render(family: TreatmentFamily, ctx: FamilyContext) -> list[dict[str, Any]]:
    treatment = family.treatment
    if treatment.recommended is None:
        return []  # an emptied list: the referral card says so, no treatment card
    cards = [treatment_card(family, ctx)]
    if family.supportive:
        cards.append(supportive_card(family.supportive, treatment.recommended, ctx))
    return cards


def treatment_card(family: TreatmentFamily, ctx: FamilyContext) -> dict[str, Any]:
    kb = ctx.kb
    treatment = family.treatment
    recommended = treatment.recommended
    assert recommended is not None
    texts = kb.cards.treatment
    sections = texts.sections
    headline = texts.headline.render(regimen=escape(recommended.label), state=escape(treatment.row_state))
    sources = [*treatment.seeds, *recommended.seeds, *(s for d in recommended.doses for s in d.seeds)]
    # A regimen outside its label population is not news: its rule is not cited.
    provenance = Provenance.of([treatment.row_id, *(e.rule_id for e in treatment.exclusions if e.rule_id != "LABEL")],
                               kb.version, sources)
    return card(
        kb,
        summary=texts.summary.render(regimen=recommended.label),
        indicator="info",
        topic="treatment-recommendation",
        detail_sections=(
            headline,
            bullets(_why_lines(treatment, ctx)),  # what was passed over and why (the alternatives are the suggestions)
            facts_section(family.facts_used, kb),
            section(sections.doses.render(), bullets(escape(d.text) for d in recommended.doses)),
            # One sentence per source disagreement, among the notes (04 §1).
            section(sections.notes.render(), bullets(escape(n.text) for n in (*treatment.notes, *recommended.notes,
                                                                               *treatment.disagreements))),
        ),
        provenance=provenance,
        suggestions=[_regimen_suggestion(option, treatment, ctx) for option in treatment.options],
        selection_behavior="at-most-one",
        facts_used=family.facts_used,
    )


def _regimen_suggestion(option: RegimenOption, treatment: TreatmentDecision, ctx: FamilyContext) -> Suggestion:
    kb = ctx.kb
    texts, layout = kb.cards.treatment, kb.cards.layout
    rule = (option.row_id if option.list_row_id == option.row_id
            else texts.borrowed_rule.render(row=option.row_id, list_row=option.list_row_id))
    note = layout.suggested_by.render(rule=rule, version=kb.version, seeds=cited_sources(option.seeds, kb))
    reason = texts.order_reason.render(regimen=option.regimen_id)
    actions = tuple(
        Action(type="create", description=layout.draft_order.render(text=dose.text),
               resource=medication_request(dose, ctx.facts.patient_id, kb, note=note, reason=reason))
        for dose in option.doses
    )
    return Suggestion(label=option.label, actions=actions, is_recommended=option.recommended)


def _why_lines(treatment: TreatmentDecision, ctx: FamilyContext) -> list[str]:
    texts = ctx.kb.cards.treatment
    # Regimens passed over for the same reason are named together; a regimen (or drug) outside the
    # population it is limited to (a label population, t(11;14)) is left out: not news to the reader.
    groups: dict[str, list[str]] = {}
    for e in treatment.exclusions:
        if not e.reason.key.endswith("exclusions.outside_population"):
            groups.setdefault(e.reason.text, []).append(e.regimen_id)
    lines = [texts.passed_over.render(groups="; ".join(
        texts.excluded.render(regimens=", ".join(regimens), reason=escape(reason)) for reason, regimens in groups.items()
    ))] if groups else []
    # A neuropathy modifier that could not apply is said once, by the treatment note.
    said = any(n.key.endswith("neuropathy-every-option-bortezomib") for n in treatment.notes)
    lines += [escape(m.note.text) for m in treatment.modifiers if not (said and m.kind == "list-order")]
    return lines


def supportive_card(measures: tuple[SupportiveMeasure, ...], regimen: RegimenOption, ctx: FamilyContext
                    ) -> dict[str, Any]:
    kb = ctx.kb
    texts = kb.cards.supportive
    needs = list(dict.fromkeys(m.need_label for m in measures))
    reasons = list(dict.fromkeys(texts.reason.render(need=m.need_label, reason=escape(m.reason.text), rule=m.rule_id,
                                                     seeds=", ".join(m.seeds)) for m in measures))
    rule_ids = sorted({m.rule_id for m in measures})
    sources = [*(s for m in measures for s in m.seeds), *(s for m in measures if m.dose for s in m.dose.seeds)]
    return card(
        kb,
        summary=texts.summary.render(regimen=regimen.regimen_id, needs=", ".join(needs)),
        indicator="info",
        topic="supportive-care",
        detail_sections=(
            texts.headline.render(regimen=escape(regimen.label)),
            section(texts.why.render(), bullets(reasons)),
            texts.already_taken.render(),
        ),
        provenance=Provenance.of(rule_ids, kb.version, sources),
        # Within one need only the first option is recommended (04 §3); tests are all wanted.
        suggestions=[_measure_suggestion(m, ctx, recommended=m.kind == "service" or m.id == _first_of_need(measures, m))
                     for m in measures],
        selection_behavior="any",
    )


def _first_of_need(measures: tuple[SupportiveMeasure, ...], measure: SupportiveMeasure) -> str:
    return next(m.id for m in measures if m.need == measure.need)


def _measure_suggestion(measure: SupportiveMeasure, ctx: FamilyContext, *, recommended: bool) -> Suggestion:
    kb = ctx.kb
    layout = kb.cards.layout
    note = layout.suggested_by.render(rule=measure.rule_id, version=measure.kb_version, seeds=cited_sources(measure.seeds, kb))
    reason = kb.cards.supportive.order_reason.render(reason=measure.reason.text, drugs=", ".join(measure.trigger_drugs))
    patient = ctx.facts.patient_id
    if measure.kind == "medication" and measure.dose is not None:
        resource = medication_request(measure.dose, patient, kb, note=note, reason=reason)
        description = layout.draft_order.render(text=measure.dose.text)
    elif measure.service is not None:
        resource = service_request(measure.service, patient, reason=reason, note=note)
        description = layout.request.render(what=measure.service.display)
    else:  # a measure always carries a dose or a service; this guards a malformed knowledge base
        raise ValueError(f"supportive measure {measure.id} has neither a dose nor a service")
    return Suggestion(label=measure.label, actions=(Action(type="create", description=description, resource=resource),),
                      is_recommended=recommended)
