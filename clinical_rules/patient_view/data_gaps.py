"""The data-gap card (03 §3, 04 §5): every input the decision needed and did not have, with what to
record; the gaps the caller hands in (what it could not fetch or read); and, for an unconfirmed
rise, the one card that asks to confirm it. Outside relapse only the gaps the knowledge base marks
``outside_relapse`` (and the caller's) are shown: a myeloma patient without response data is never
met with silence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from clinical_rules.decisions import DataGap, DataGapCard, FactUsed, Provenance, ReportedGap, composed, say
from clinical_rules.dose_labs import dose_lab_gaps
from clinical_rules.isolation import isolated
from clinical_rules.kb import KnowledgeBase
from clinical_rules.kbmodel.data_gaps import REPORTED_SLOTS, GapItem
from clinical_rules.predicates import Situation, evaluate

if TYPE_CHECKING:
    from clinical_rules.patient_view import FamilyContext
    from fhir_mappings.facts import PatientFacts


def decide(ctx: FamilyContext) -> DataGapCard | None:
    kb = ctx.kb
    texts = kb.cards.data_gap
    facts_used: tuple[FactUsed, ...] = ()
    gaps: list[DataGap] = []
    summary = texts.summary
    if ctx.status == "possible-progression":
        gap, facts_used = _possible_progression(ctx)
        gaps.append(gap)
        summary = texts.summary_possible_progression
    treatment = ctx.treatment.treatment if ctx.treatment is not None else None
    situation = Situation(ctx.facts, kb, treatment, eligibility=ctx.label_eligibility())
    for code, item in kb.data_gaps.items.items():
        if ctx.status == "relapse" or item.outside_relapse:
            gap = _item(code, item, situation)
            if gap is not None:
                gaps.append(gap)
    if ctx.status == "relapse":
        gaps.extend(_mapping_notes(ctx, {g.code for g in gaps}))
    gaps.extend(_reported(gap, kb) for gap in ctx.reported)
    if not gaps:
        return None
    # Blocking renal dosing makes it a warning (04 §5), which the clinician may override.
    blocks = any(g.blocks_dosing for g in gaps)
    return DataGapCard(
        gaps=tuple(gaps),
        summary=say(summary, items=", ".join(g.name.text for g in gaps)),
        provenance=Provenance.of([kb.data_gaps.rule_id], kb.version, kb.data_gaps.seeds),
        facts_used=facts_used,
        override_reasons=tuple((c, kb.override_reasons[c]) for c in texts.override_reasons) if blocks else (),
    )


def _item(code: str, item: GapItem, situation: Situation) -> DataGap | None:
    values = evaluate(item.when, situation)
    if values is None:
        return None
    blocking = evaluate(item.blocking_when, situation) if item.blocking_when is not None else None
    if blocking is not None and item.blocking_text is not None:
        text = say(item.blocking_text, **{**values, **blocking})
    else:
        text = say(item.text, **values)
    return DataGap(code=code, name=say(item.name), text=text, record=say(item.record, **values),
                   blocks_dosing=blocking is not None)


def _possible_progression(ctx: FamilyContext) -> tuple[DataGap, tuple[FactUsed, ...]]:
    possible = ctx.facts.possible_progression
    assert possible is not None  # the status says there is one
    texts = ctx.kb.data_gaps.possible_progression
    gap = DataGap(
        code="unconfirmed-progression",
        name=say(texts.name),
        text=say(texts.text, description=possible.description, date=possible.date.isoformat()),
        record=say(texts.record),
        evidence=possible.evidence,
    )
    fact = FactUsed(say(ctx.kb.facts.unconfirmed_rise, description=possible.description), possible.evidence)
    return gap, (fact,)


def _mapping_notes(ctx: FamilyContext, given: set[str]) -> list[DataGap]:
    """The mapping's notes that are gaps (undated medication, undated ASCT), in its wording."""
    kb = ctx.kb
    names = kb.data_gaps.mapping_notes
    gaps = []
    for note in ctx.facts.notes:
        if note.code in names and note.code not in given:
            given.add(note.code)
            gaps.append(DataGap(code=note.code, name=composed(names[note.code]), text=composed(note.text),
                                record=say(kb.data_gaps.mapping_note_record)))
    return gaps


def reported_card(reported: Iterable[ReportedGap], kb: KnowledgeBase, *, facts: PatientFacts | None = None,
                  drafted: Iterable[str] = ()) -> DataGapCard | None:
    """The data-gap card of the order hooks: the laboratory values the drafted drugs' dose checks
    need and the record cannot give (``dose_labs``, D36: these block dosing), the items judged on
    the drafted drugs (knowledge-base items marked ``in_order_hooks``, e.g. no IgG before a
    drafted bispecific), then the caller's gaps (the checks ran on a partial record)."""
    gaps: list[DataGap] = []
    drafted = tuple(drafted)
    if facts is not None:
        # Each part runs isolated: a failure in one (logged, type only) still leaves the others
        # and the caller's gaps on the card.
        gaps += isolated("dose-labs", lambda: dose_lab_gaps(facts, kb, drafted)) or []
        gaps += isolated("order-hook-gaps", lambda: _order_hook_items(facts, kb, drafted)) or []
    gaps += [_reported(gap, kb) for gap in reported]
    if not gaps:
        return None
    blocks = any(g.blocks_dosing for g in gaps)
    return DataGapCard(
        gaps=tuple(gaps),
        summary=say(kb.cards.data_gap.summary_orders, items=", ".join(g.name.text for g in gaps)),
        provenance=Provenance.of([kb.data_gaps.rule_id, *(r for g in gaps for r in g.rule_ids)], kb.version,
                                 [*(s for g in gaps for s in g.sources), *kb.data_gaps.seeds]),
        facts_used=tuple(f for g in gaps for f in g.facts_used),
        # A warning (it blocks dosing) the clinician may override, as in patient-view.
        override_reasons=tuple((c, kb.override_reasons[c]) for c in kb.cards.data_gap.override_reasons)
        if blocks else (),
    )


def _order_hook_items(facts: PatientFacts, kb: KnowledgeBase, drafted: tuple[str, ...]) -> list[DataGap]:
    situation = Situation(facts, kb, drafted=drafted, hook_orders=True)
    return [gap for code, item in kb.data_gaps.items.items() if item.in_order_hooks
            if (gap := _item(code, item, situation)) is not None]


def _reported(gap: ReportedGap, kb: KnowledgeBase) -> DataGap:
    texts = kb.data_gaps.reported.get(gap.kind) or kb.data_gaps.reported["other"]
    # A value the caller did not give reads as "?" rather than costing the whole card.
    given = dict(gap.values)
    source = texts.source(given.get("key", ""), given.get("resource_type", ""))
    if source is not None:
        given.setdefault("source", source.name.render())
        given.setdefault("effect", source.effect.render())
    values: Mapping[str, str] = {slot: given.get(slot, "?") for slot in REPORTED_SLOTS} | {"kind": gap.kind}
    # One item per source: a key (the prefetch key) tells two sources of one kind apart.
    code = f"reported:{gap.kind}" + (f":{given['key']}" if "key" in given else "")
    return DataGap(code=code, name=say(texts.name, **values), text=say(texts.text, **values),
                   record=say(texts.record, **values))
