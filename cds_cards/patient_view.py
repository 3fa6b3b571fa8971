"""Patient-view cards from a RelapseDecision (04 §1–§3, §5).

Decides nothing clinical: every choice was made in ``clinical_rules``; this module lays the
decision out as cards (treatment, supportive care, salvage transplant, referral, aggressive
disease, relapse work-up, data gaps) whose details cite the facts, rule, KB version and seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cds_cards.builder import Action, Link, OverrideReason, Suggestion, build_card
from cds_cards.fhir_resources import medication_request, service_request
from cds_cards.markdown import bullets, escape, fact_line, join_sections, section
from cds_cards.provenance import with_provenance
from clinical_rules.isolation import isolated

if TYPE_CHECKING:
    from clinical_rules.decisions import (
        DataGap,
        InfoCard,
        RegimenOption,
        RelapseDecision,
        SupportiveMeasure,
        TreatmentDecision,
    )
    from clinical_rules.kb import KnowledgeBase
    from fhir_mappings.facts import PatientFacts


def render(decision: RelapseDecision, facts: PatientFacts, kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The patient-view cards for ``decision`` (an empty list when the service stays silent).

    Each card family is rendered in isolation (issue 6): one that raises is logged (type only)
    and dropped; the treatment card and its supportive-care card stand or fall together.
    """
    if decision.silent:
        return []
    if decision.status == "possible-progression":
        gap_card = isolated("data-gap", lambda: _data_gap_card(decision.data_gaps, decision, kb))
        return [gap_card] if decision.data_gaps and gap_card is not None else []
    by_topic = {card.topic: card for card in decision.info_cards}
    families: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = []
    if "aggressive-disease" in by_topic:
        families.append(("aggressive-disease", lambda: [_info_card(by_topic["aggressive-disease"], facts, kb)]))
    treatment = decision.treatment
    if treatment is not None and treatment.recommended is not None:
        families.append(("treatment", lambda: _treatment_cards(treatment, decision, facts, kb)))
    for topic in ("salvage-transplant", "referral", "relapse-workup"):
        if topic in by_topic:
            families.append((topic, lambda info=by_topic[topic]: [_info_card(info, facts, kb)]))
    if decision.data_gaps:
        families.append(("data-gap", lambda: [_data_gap_card(decision.data_gaps, decision, kb)]))
    cards: list[dict[str, Any]] = []
    for family, build in families:
        cards.extend(isolated(family, build) or ())
    return cards


def _treatment_cards(
    treatment: TreatmentDecision, decision: RelapseDecision, facts: PatientFacts, kb: KnowledgeBase
) -> list[dict[str, Any]]:
    """The treatment card and, when the regimen needs any, its supportive-care card."""
    recommended = treatment.recommended
    assert recommended is not None
    cards = [_treatment_card(treatment, decision, facts, kb)]
    if decision.supportive:
        cards.append(_supportive_card(decision.supportive, recommended, facts, kb))
    return cards


# -- treatment ----------------------------------------------------------------------------------


def _treatment_card(
    treatment: TreatmentDecision, decision: RelapseDecision, facts: PatientFacts, kb: KnowledgeBase
) -> dict[str, Any]:
    recommended = treatment.recommended
    assert recommended is not None
    summary = kb.cards["treatment"]["summary"].format(row=treatment.row_id, regimen=recommended.label)
    suggestions = [_regimen_suggestion(option, facts) for option in treatment.options]
    detail = join_sections(
        f"**Recommended: {escape(recommended.label)}** — rule {treatment.row_id} "
        f"({escape(treatment.row_state)}).",
        section("Facts used", "\n".join(fact_line(f) for f in decision.facts_used)),
        section("Why this regimen", bullets(_why_lines(treatment, kb))),
        section("Starting doses (recommended regimen)", bullets(escape(d.text) for d in recommended.doses)),
        section("Notes", bullets(escape(n) for n in (*treatment.notes, *recommended.notes))),
        section("Sources disagree", bullets(escape(d) for d in decision.disagreements)),
        _trace(treatment.row_id, treatment.seeds + recommended.seeds, kb),
    )
    card = build_card(
        summary=summary,
        indicator="info",
        topic="treatment-recommendation",
        source_label=kb.source_label,
        detail=detail,
        suggestions=suggestions,
        selection_behavior="at-most-one",
    )
    rule_ids = [treatment.row_id, *(e.rule_id for e in treatment.exclusions)]
    return with_provenance(card, rule_ids, kb.version, treatment.seeds + recommended.seeds)


def _regimen_suggestion(option: RegimenOption, facts: PatientFacts) -> Suggestion:
    note = f"Suggested by RRMM relapse guidance (rule {option.rule_id}, KB {option.kb_version}; {', '.join(option.seeds)})"
    actions = tuple(
        Action(
            type="create",
            description=f"Draft order: {dose.text}",
            resource=medication_request(dose, facts.patient_id, note=note, reason=f"{option.regimen_id} for relapsed myeloma"),
        )
        for dose in option.doses
    )
    return Suggestion(label=option.label, actions=actions, is_recommended=option.recommended)


def _why_lines(treatment: TreatmentDecision, kb: KnowledgeBase) -> list[str]:
    lines = [f"First matching row: {treatment.row_id} — {escape(treatment.row_state)}."]
    for exclusion in treatment.exclusions:
        lines.append(f"{exclusion.regimen_id} excluded ({exclusion.rule_id}): {escape(exclusion.reason)}.")
    lines.extend(escape(m) for m in treatment.modifiers)
    alternatives = [o.regimen_id for o in treatment.options[1:]]
    if alternatives:
        lines.append(f"Alternatives in list order: {', '.join(alternatives)}.")
    return lines


# -- supportive care ----------------------------------------------------------------------------


def _supportive_card(
    measures: tuple[SupportiveMeasure, ...], regimen: RegimenOption, facts: PatientFacts, kb: KnowledgeBase
) -> dict[str, Any]:
    groups: list[str] = []
    for measure in measures:
        name = measure.label.split(":")[0]
        if name not in groups:
            groups.append(name)
    suggestions = [_measure_suggestion(m, facts) for m in measures]
    reasons = []
    for measure in measures:
        line = f"{measure.label.split(':')[0]}: {escape(measure.reason)} (rule {measure.rule_id}; {', '.join(measure.seeds)})"
        if line not in reasons:
            reasons.append(line)
    detail = join_sections(
        f"Supportive care for **{escape(regimen.label)}**; options within one need are alternatives.",
        section("Why", bullets(reasons)),
        "Nothing is suggested that the patient already takes (current anticoagulant, antiviral, antiemetic …).",
        _trace(", ".join(sorted({m.rule_id for m in measures})), tuple(s for m in measures for s in m.seeds), kb),
    )
    card = build_card(
        summary=kb.cards["supportive"]["summary"].format(regimen=regimen.regimen_id, groups=", ".join(groups)),
        indicator="info",
        topic="supportive-care",
        source_label=kb.source_label,
        detail=detail,
        suggestions=suggestions,
        selection_behavior="any",
    )
    rule_ids = sorted({m.rule_id for m in measures})  # the order the detail's trace line uses
    return with_provenance(card, rule_ids, kb.version, (s for m in measures for s in m.seeds))


def _measure_suggestion(measure: SupportiveMeasure, facts: PatientFacts) -> Suggestion:
    note = f"Suggested by RRMM relapse guidance (rule {measure.rule_id}, KB {measure.kb_version}; {', '.join(measure.seeds)})"
    reason = f"{measure.reason} ({', '.join(measure.trigger_drugs)})"
    if measure.kind == "medication" and measure.dose is not None:
        resource = medication_request(measure.dose, facts.patient_id, note=note, reason=reason)
        description = f"Draft order: {measure.dose.text}"
    elif measure.service is not None:
        resource = service_request(measure.service, facts.patient_id, reason=reason, note=note)
        description = f"Request: {measure.service.display}"
    else:  # a measure always carries a dose or a service; this guards a malformed KB entry
        raise ValueError(f"supportive measure {measure.id} has neither a dose nor a service")
    return Suggestion(label=measure.label, actions=(Action(type="create", description=description, resource=resource),),
                      is_recommended=True)


# -- other cards ----------------------------------------------------------------------------------


def _info_card(card: InfoCard, facts: PatientFacts, kb: KnowledgeBase) -> dict[str, Any]:
    note = f"Suggested by RRMM relapse guidance (rule {card.rule_id}, KB {kb.version})"
    suggestions = [
        Suggestion(
            label=service.label,
            actions=(
                Action(
                    type="create",
                    description=f"Request: {service.label}",
                    resource=service_request(
                        service.coding, facts.patient_id, text=service.label, reason=service.reason, note=note
                    ),
                ),
            ),
            is_recommended=True,
        )
        for service in card.services
    ]
    detail = join_sections(
        bullets(escape(r) for r in card.reasons),
        section("Facts used", "\n".join(fact_line(f) for f in card.facts_used)),
        section("Sources disagree", bullets(escape(d) for d in card.disagreements)),
        _trace(card.rule_id, card.seeds, kb),
    )
    override_reasons = _override_reasons("aggressive", kb) if card.indicator != "info" else ()
    built = build_card(
        summary=card.summary,
        indicator=card.indicator,
        topic=card.topic,
        source_label=kb.source_label,
        detail=detail,
        suggestions=suggestions,
        selection_behavior="any" if suggestions else None,
        links=[Link(label=label, url=url) for label, url in card.links],
        override_reasons=override_reasons,
    )
    return with_provenance(built, (card.rule_id,), kb.version, card.seeds)


def _data_gap_card(gaps: tuple[DataGap, ...], decision: RelapseDecision, kb: KnowledgeBase) -> dict[str, Any]:
    blocks = any(g.blocks_dosing for g in gaps)
    what = ", ".join(_GAP_NAMES.get(g.code, g.code.replace("-", " ")) for g in gaps)
    summary_key = "summary_possible_progression" if decision.status == "possible-progression" else "summary"
    lines = [f"{escape(g.text)} **Record:** {escape(g.record)}" for g in gaps]
    # The gaps speak for themselves at relapse (the treatment card lists the facts); an unconfirmed
    # rise has no other card, so its measurements are shown here.
    facts_lines = [fact_line(f) for f in decision.facts_used] if decision.status == "possible-progression" else []
    detail = join_sections(
        bullets(lines),
        section("Facts used", "\n".join(facts_lines)),
        _trace(_DATA_GAP_RULE, _DATA_GAP_SEEDS, kb),
    )
    card = build_card(
        summary=kb.cards["data_gap"][summary_key].format(what=what),
        indicator="warning" if blocks else "info",
        topic="data-gap",
        source_label=kb.source_label,
        detail=detail,
        override_reasons=_override_reasons("data_gap", kb) if blocks else (),
    )
    return with_provenance(card, (_DATA_GAP_RULE,), kb.version, _DATA_GAP_SEEDS)


_DATA_GAP_RULE = "DATA-GAP"
_DATA_GAP_SEEDS = ("S0", "S3")


_GAP_NAMES = {
    "no-recent-creatinine": "recent creatinine",
    "no-cytogenetics": "cytogenetics (FISH)",
    "incomplete-cytogenetics": "some FISH results",
    "lines-uncertain": "prior lines of therapy",
    "asct-undated": "ASCT date",
    "no-bsa": "height/weight",
    "no-weight": "weight",
    "no-birth-date": "birth date",
    "no-ecog": "ECOG performance status",
    "unconfirmed-progression": "confirmation of a single M-protein / FLC rise",
}


def _override_reasons(kind: str, kb: KnowledgeBase) -> tuple[OverrideReason, ...]:
    catalogue = kb.data.get("override_reasons", {})
    codes = kb.cards.get("override_reasons", {}).get(kind, [])
    return tuple(OverrideReason(code=c, display=catalogue.get(c, c.replace("-", " "))) for c in codes)


def _trace(rule_id: str, seeds: tuple[str, ...], kb: KnowledgeBase) -> str:
    unique = sorted(set(seeds), key=lambda s: (not s.startswith("S"), s))
    sources = kb.data["sources"]
    cited = "; ".join(f"{s}: {escape(sources[s]['title'])}" if s in sources else s for s in unique)
    # The audit trail parses "Rule <ids> · KB <version>" from this line (cds_service/observability/audit.py).
    return f"*Rule {rule_id} · KB {kb.version} · Sources: {cited}*"
