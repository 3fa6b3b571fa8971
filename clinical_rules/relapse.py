"""The patient-view decision procedure (03 §3): facts -> row -> preference list -> hard rules
H1–H6 -> modifiers -> recommended regimen and alternatives, plus the other relapse cards' reasons.

Pure and deterministic: no I/O, no clock; the knowledge base supplies every list and threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clinical_rules.decisions import (
    DataGap,
    Exclusion,
    FactUsed,
    InfoCard,
    RegimenOption,
    RelapseDecision,
    SupportiveMeasure,
    TreatmentDecision,
)
from clinical_rules.doses import starting_dose
from clinical_rules.evidence import facts_used
from clinical_rules.hard_rules import exclusion_reason
from clinical_rules.isolation import isolated
from clinical_rules.kb import KnowledgeBase
from clinical_rules.other_cards import (
    aggressive_disease_card,
    data_gaps,
    referral_card,
    referral_reasons,
    relapse_workup_card,
    salvage_transplant_card,
)
from clinical_rules.supportive import supportive_measures

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts


def decide(facts: PatientFacts, kb: KnowledgeBase) -> RelapseDecision:
    """The whole patient-view conclusion for this patient at ``facts.evaluation_date``."""
    if not facts.myeloma.present:
        return RelapseDecision(status="no-myeloma", kb_version=kb.version)
    if facts.new_line_after_progression:
        return RelapseDecision(status="new-line-started", kb_version=kb.version)
    if not facts.at_relapse:
        if facts.possible_progression is None:
            return RelapseDecision(status="not-at-relapse", kb_version=kb.version)
        return _possible_progression(facts, kb)

    # Independent families (issue 6): one that raises is logged and dropped, the others stand.
    failures: list[str] = []
    treatment_family = isolated("treatment", lambda: _treatment_family(facts, kb), failures)
    treatment, supportive, used, disagreements = treatment_family or (None, (), (), ())
    recommended = treatment.recommended if treatment is not None else None
    families: tuple[tuple[str, Callable[[], InfoCard | None]], ...] = (
        ("aggressive-disease", lambda: aggressive_disease_card(facts, kb)),
        ("salvage-transplant", lambda: salvage_transplant_card(facts, kb)),
        ("referral", lambda: referral_card(facts, kb, treatment)),
        ("relapse-workup", lambda: relapse_workup_card(facts, kb)),
    )
    info_cards = [card for family, compute in families if (card := isolated(family, compute, failures)) is not None]
    gaps = isolated("data-gap", lambda: data_gaps(facts, kb, recommended), failures)
    return RelapseDecision(
        status="relapse",
        kb_version=kb.version,
        facts_used=used,
        treatment=treatment,
        supportive=supportive,
        info_cards=tuple(info_cards),
        data_gaps=gaps or (),
        disagreements=disagreements,
        failed_families=tuple(failures),
    )


def _treatment_family(
    facts: PatientFacts, kb: KnowledgeBase
) -> tuple[TreatmentDecision, tuple[SupportiveMeasure, ...], tuple[FactUsed, ...], tuple[str, ...]]:
    """The treatment decision with what its cards need: its supportive care, the facts used and the
    source disagreements. One family: a treatment card without its supportive care is incomplete."""
    treatment = choose_treatment(facts, kb)
    recommended = treatment.recommended
    supportive = supportive_measures(recommended.drugs, facts, kb) if recommended is not None else ()
    return treatment, supportive, facts_used(facts), treatment_disagreements(facts, kb, treatment)


def treatment_disagreements(facts: PatientFacts, kb: KnowledgeBase, treatment: TreatmentDecision) -> tuple[str, ...]:
    """The source disagreements (decision log) that bear on this patient's treatment choice."""
    texts = kb.cards["treatment"]["disagreements"]
    found: list[str] = []
    on_maintenance = any("lenalidomide" in line.maintenance_drugs for line in facts.lines)
    if facts.lenalidomide_refractory and on_maintenance:
        found.append(texts["lenalidomide_maintenance"])
    if facts.frail:
        found.append(texts["frail"])
    if any(option.regimen_id == "DVd" for option in treatment.options):
        found.append(texts["dvd_optimismm"])
    return tuple(found)


def _possible_progression(facts: PatientFacts, kb: KnowledgeBase) -> RelapseDecision:
    possible = facts.possible_progression
    assert possible is not None
    gap = DataGap(
        code="unconfirmed-progression",
        text=f"Possible progression: {possible.description} ({possible.date.isoformat()}), not yet confirmed.",
        record="Repeat the measurement (IMWG progression needs two consecutive qualifying values) "
        "and record the result; relapse guidance follows once progression is confirmed.",
        evidence=possible.evidence,
    )
    return RelapseDecision(
        status="possible-progression",
        kb_version=kb.version,
        facts_used=(FactUsed(label=f"unconfirmed rise: {possible.description}", evidence=possible.evidence),),
        data_gaps=(gap,),
    )


# -- treatment --------------------------------------------------------------------------------


def matching_row(facts: PatientFacts, kb: KnowledgeBase) -> dict[str, Any]:
    """The first row (R1..R9 in KB order) whose state matches the facts."""
    for row in kb.rows:
        if _row_matches(row["when"], facts):
            return row
    # The table covers every combination of LR / L / CD38x / PIr, so this means a broken KB.
    raise LookupError("no decision row matches; the knowledge base rows do not cover this state")


def _row_matches(when: dict[str, Any], facts: PatientFacts) -> bool:
    for key, expected in when.items():
        if key == "min_prior_lines":
            if facts.prior_lines < expected:
                return False
        elif key == "max_prior_lines":
            if facts.prior_lines > expected:
                return False
        elif bool(getattr(facts, key)) != expected:
            return False
    return True


def preference_list(row: dict[str, Any], facts: PatientFacts, kb: KnowledgeBase) -> tuple[str, tuple[str, ...]]:
    """(the row whose list is used, the list): R9 borrows R6/R7 by CD38x; frail uses frail_list."""
    source = row
    if "lists_of" in row:
        key = "anti_cd38_exposed" if facts.anti_cd38_exposed else "anti_cd38_naive"
        source = kb.row(row["lists_of"][key])
    regimens = source["frail_list"] if facts.frail and "frail_list" in source else source["list"]
    return source["id"], tuple(regimens)


def choose_treatment(facts: PatientFacts, kb: KnowledgeBase) -> TreatmentDecision:
    row = matching_row(facts, kb)
    list_row_id, candidates = preference_list(row, facts, kb)
    survivors: list[str] = []
    exclusions: list[Exclusion] = []
    for regimen_id in candidates:
        excluded = exclusion_reason(regimen_id, row["id"], facts, kb)
        if excluded is None:
            survivors.append(regimen_id)
        else:
            exclusions.append(Exclusion(regimen_id=regimen_id, rule_id=excluded[0], reason=excluded[1]))

    ordered, modifier_notes = apply_modifiers(survivors, facts, kb)
    ordered = ordered[: 1 + kb.modifiers["max_alternatives"]]
    seeds = tuple(row["seeds"])
    rule_id = row["id"] if list_row_id == row["id"] else f"{row['id']} (list of {list_row_id})"
    options = tuple(
        _regimen_option(regimen_id, index == 0, facts, kb, rule_id) for index, regimen_id in enumerate(ordered)
    )
    return TreatmentDecision(
        row_id=row["id"],
        row_state=row["state"] + (f"; uses the {list_row_id} list" if list_row_id != row["id"] else ""),
        seeds=seeds,
        options=options,
        exclusions=tuple(exclusions),
        modifiers=tuple(modifier_notes),
        notes=_treatment_notes(facts, kb, row["id"], options),
        list_emptied=not options,
    )


def apply_modifiers(survivors: list[str], facts: PatientFacts, kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """Move the regimen the HF / PN modifiers choose to the front; the rest keep list order."""
    if not survivors:
        return [], []
    hf_avoid = set(kb.modifiers["heart_failure_avoid"])
    pn_avoid = set(kb.modifiers["neuropathy_avoid"])
    hf, pn = facts.heart_failure.present, facts.neuropathy.present

    def first_without(avoid: set[str]) -> str | None:
        return next((r for r in survivors if not avoid & set(kb.regimens[r]["drugs"])), None)

    chosen: str | None = None
    notes: list[str] = []
    if hf and pn:
        chosen = first_without(hf_avoid | pn_avoid)
        if chosen is not None:
            notes.append("Heart failure and peripheral neuropathy: first regimen without carfilzomib or bortezomib (H5).")
        else:
            chosen = first_without(hf_avoid)
            if chosen is not None:
                notes.append(
                    "Heart failure and peripheral neuropathy: no regimen avoids both; the cardiac risk weighs more, "
                    "first regimen without carfilzomib (H5)."
                )
    elif hf:
        chosen = first_without(hf_avoid)
        if chosen is not None:
            notes.append("Heart failure or LVEF < 40 %: first regimen without carfilzomib (H5; S3, S4).")
    elif pn:
        chosen = first_without(pn_avoid)
        if chosen is not None:
            notes.append("Peripheral neuropathy: first regimen without bortezomib (S0).")
    if chosen is None:
        if hf or pn:
            notes.append("No surviving regimen avoids the modifier's drug: the list order stands.")
        return list(survivors), notes
    if chosen == survivors[0]:
        notes = [n for n in notes if "list order" not in n]
    return [chosen] + [r for r in survivors if r != chosen], notes


def _regimen_option(
    regimen_id: str, recommended: bool, facts: PatientFacts, kb: KnowledgeBase, rule_id: str
) -> RegimenOption:
    regimen = kb.regimens[regimen_id]
    doses = tuple(starting_dose(drug, regimen_id, facts, kb) for drug in regimen["drugs"])
    notes = list(regimen.get("notes", ())) + list(regimen.get("evidence", ()))
    return RegimenOption(
        regimen_id=regimen_id,
        label=kb.regimen_label(regimen_id),
        drugs=tuple(regimen["drugs"]),
        doses=doses,
        recommended=recommended,
        notes=tuple(notes),
        seeds=tuple(regimen["seeds"]),
        rule_id=rule_id,
        kb_version=kb.version,
    )


def _treatment_notes(
    facts: PatientFacts, kb: KnowledgeBase, row_id: str, options: tuple[RegimenOption, ...]
) -> tuple[str, ...]:
    texts = kb.cards["treatment"]
    notes: list[str] = []
    if not options:
        notes.append(texts["specialist_review"].format(row=row_id))
    if facts.high_risk:
        notes.append(texts["high_risk_note"])
    if facts.lenalidomide_refractory and not referral_reasons(facts, kb, list_emptied=not options):
        notes.append(texts["cilta_cel_note"])
    months = facts.months_asct_to_progression
    threshold = kb.data["salvage_transplant"]["min_months_after_asct"]
    if facts.transplants and months is not None and months < threshold:
        notes.append(texts["no_second_asct_note"].format(months=f"{months:.0f}"))
    if options and not facts.renal.known:
        renal_drugs = [d for d in options[0].drugs if d in kb.data["renally_dosed"]]
        if renal_drugs:
            notes.append(texts["renal_unknown_note"].format(drugs=", ".join(renal_drugs)))
    if facts.frail:
        notes.append(texts["frail_doublet_note"])
    notes.append(texts["proxy_note"])
    return tuple(notes)
