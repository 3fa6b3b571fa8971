"""Relapse cards beside the treatment card (03 §3): salvage ASCT, referral, aggressive disease,
relapse work-up, and the data gaps. Each returns the card's reasons or None when it does not apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clinical_rules.decisions import (
    Coding,
    DataGap,
    InfoCard,
    RegimenOption,
    ServiceProposal,
    TreatmentDecision,
)
from clinical_rules.evidence import (
    ABNORMALITY_TEXT,
    aggressive_facts,
    cytogenetic_facts,
    eligibility_facts,
    line_facts,
    progression_facts,
    refractoriness_facts,
    transplant_facts,
)
from clinical_rules.kb import KnowledgeBase

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts


def salvage_transplant_card(facts: PatientFacts, kb: KnowledgeBase) -> InfoCard | None:
    params = kb.data["salvage_transplant"]
    texts = kb.cards["salvage_transplant"]
    if facts.prior_lines > params["max_prior_lines"] or not facts.transplant_eligible:
        return None
    reasons: list[str] = []
    disagreements: list[str] = []
    if not facts.transplants:
        reasons.append(texts["never_transplanted"])
    else:
        months = facts.months_asct_to_progression
        if months is None or months < params["min_months_after_asct"]:
            return None  # < 18 months: the treatment card says a second ASCT is not advised
        reasons.append(texts["after_asct"].format(months=f"{months:.0f}"))
        if months < params["sources_agree_months"]:
            disagreements.append(texts["disagreement"])
    reasons.append(f"Relapse after {facts.prior_lines} prior line(s) (salvage ASCT at first or second relapse).")
    reasons.append(texts["proxy"])
    return InfoCard(
        topic="salvage-transplant",
        indicator="info",
        summary=texts["summary"],
        reasons=tuple(reasons),
        rule_id="ASCT-SALVAGE",
        seeds=tuple(params["seeds"]),
        disagreements=tuple(disagreements),
        services=(_referral_service("transplant-referral", texts["referral_label"], "ASCT-SALVAGE", params["seeds"], kb),),
        facts_used=(*transplant_facts(facts), *line_facts(facts)[-1:], *eligibility_facts(facts)),
    )


def referral_reasons(facts: PatientFacts, kb: KnowledgeBase, *, list_emptied: bool, row_id: str = "") -> list[str]:
    texts = kb.cards["referral"]["reasons"]
    reasons: list[str] = []
    if facts.penta_refractory:
        reasons.append(texts["penta"])
    elif facts.triple_class_refractory:
        reasons.append(texts["tcr"])
    if facts.prior_lines >= kb.data["referral"]["min_prior_lines"]:
        reasons.append(texts["lines"].format(lines=facts.prior_lines))
    if list_emptied:
        reasons.append(texts["emptied"].format(row=row_id or "the matching row"))
    return reasons


def referral_card(facts: PatientFacts, kb: KnowledgeBase, treatment: TreatmentDecision | None) -> InfoCard | None:
    """The referral card; ``treatment`` is None when the treatment rule failed (then only the
    patient's own reasons — TCR, penta, lines — can be judged)."""
    emptied = treatment is not None and treatment.list_emptied
    row_id = treatment.row_id if treatment is not None else ""
    reasons = referral_reasons(facts, kb, list_emptied=emptied, row_id=row_id)
    if not reasons:
        return None
    texts = kb.cards["referral"]
    review = (kb.cards["treatment"]["specialist_review"].format(row=row_id),) if emptied else ()
    return InfoCard(
        topic="referral",
        indicator="info",
        summary=texts["summary"],
        reasons=(*review, f"Referral because of {'; '.join(reasons)}.", texts["body"]),
        rule_id="REFERRAL",
        seeds=tuple(kb.data["referral"]["seeds"]),
        services=(_referral_service("cell-therapy-referral", texts["referral_label"], "REFERRAL", kb.data["referral"]["seeds"], kb),),
        facts_used=(*refractoriness_facts(facts), *line_facts(facts)[-1:]),
        links=tuple((link["label"], link["url"]) for link in texts["links"]),
    )


def aggressive_disease_card(facts: PatientFacts, kb: KnowledgeBase) -> InfoCard | None:
    what = [
        label
        for label, finding in (
            ("plasma cell leukaemia", facts.plasma_cell_leukaemia),
            ("extramedullary disease", facts.extramedullary),
        )
        if finding.present
    ]
    if not what:
        return None
    texts = kb.cards["aggressive"]
    return InfoCard(
        topic="aggressive-disease",
        indicator="critical",
        summary=texts["summary"].format(what=" and ".join(what)),
        reasons=(texts["body"],),
        rule_id="AGGRESSIVE",
        seeds=("S0", "S3", "S4"),
        facts_used=(*aggressive_facts(facts), *progression_facts(facts)),
    )


def relapse_workup_card(facts: PatientFacts, kb: KnowledgeBase) -> InfoCard | None:
    texts = kb.cards["workup"]
    positive = {r.abnormality for r in facts.cytogenetics if r.positive}
    services: list[ServiceProposal] = []
    reasons: list[str] = []
    what: list[str] = []
    if facts.cytogenetics_on_file:
        reasons.append(texts["fish_on_file"])
    else:
        reasons.append(texts["no_cytogenetics"])
    # An abnormality already documented positive stays positive: no need to test it again.
    for abnormality, key, label in (
        ("del17p", "fish-del17p", "Bone marrow FISH for del(17p)/TP53"),
        ("gain1q", "fish-1q", "Bone marrow FISH for 1q gain/amplification"),
    ):
        if abnormality not in positive:
            services.append(_service(key, label, "progression-associated abnormality at relapse (S0)", kb))
            what.append(label.removeprefix("Bone marrow FISH for ") + " FISH")
    if services:
        services.insert(0, _service("marrow-sampling", "Bone marrow aspirate and biopsy (sample for FISH)",
                                    "relapse re-staging and FISH at relapse (S0)", kb))
    reasons.append(texts["imaging"])
    services.append(_service("pet-ct", "Restaging PET-CT (or whole-body low-dose CT / MRI)",
                             "look for extramedullary disease (S0)", kb))
    what.append("restaging imaging")
    return InfoCard(
        topic="relapse-workup",
        indicator="info",
        summary=texts["summary"].format(what=", ".join(what)),
        reasons=tuple(reasons),
        rule_id="WORKUP",
        seeds=("S0", "S3"),
        disagreements=("Repeat FISH at relapse: S0 contradicts itself; S3 leaves it to the physician (decision D11).",),
        services=tuple(services),
        facts_used=(*progression_facts(facts), *cytogenetic_facts(facts)),
    )


def _referral_service(proposal_id: str, label: str, rule_id: str, seeds: list[str], kb: KnowledgeBase) -> ServiceProposal:
    """A referral is proposed as a ServiceRequest (never as a drug order)."""
    return ServiceProposal(
        id=proposal_id,
        label=label,
        coding=Coding(**kb.services["referral"]),
        reason=label,
        rule_id=rule_id,
        seeds=tuple(seeds),
        kb_version=kb.version,
    )


def _service(key: str, label: str, reason: str, kb: KnowledgeBase) -> ServiceProposal:
    return ServiceProposal(
        id=key,
        label=label,
        coding=Coding(**kb.services[key]),
        reason=reason,
        rule_id="WORKUP",
        seeds=("S0",),
        kb_version=kb.version,
    )


def data_gaps(facts: PatientFacts, kb: KnowledgeBase, recommended: RegimenOption | None) -> tuple[DataGap, ...]:
    """Every input the decision needed and did not have, with what to record."""
    gaps: list[DataGap] = []
    if not facts.renal.known:
        renal_drugs = [d for d in (recommended.drugs if recommended else ()) if d in kb.data["renally_dosed"]]
        blocks = bool(renal_drugs)
        effect = (
            f"blocks renal dosing of {', '.join(renal_drugs)} (standard starting dose shown)"
            if blocks
            else "renal dosing of later regimens cannot be checked"
        )
        gaps.append(
            DataGap(
                code="no-recent-creatinine",
                text=f"No serum creatinine (or eGFR / measured CrCl) within 90 days: {effect}.",
                record="Record a serum creatinine and a current weight.",
                blocks_dosing=blocks,
            )
        )
    if not facts.cytogenetics_on_file:
        gaps.append(
            DataGap(
                code="no-cytogenetics",
                text="No cytogenetic (FISH) result on file: cytogenetic risk is unknown.",
                record="Record marrow FISH results for del(17p), t(4;14), t(14;16), t(11;14) and 1q.",
            )
        )
    elif facts.missing_cytogenetics:
        missing = ", ".join(ABNORMALITY_TEXT[a] for a in facts.missing_cytogenetics)
        gaps.append(
            DataGap(
                code="incomplete-cytogenetics",
                text=f"No result for {missing}: high-risk status may be incomplete.",
                record=f"Record the FISH result for {missing} (or note it was not tested).",
            )
        )
    if facts.age is None:
        gaps.append(
            DataGap(
                code="no-birth-date",
                text="Birth date unknown: age-based rules (dexamethasone over 75, frailty at 80, transplant "
                "eligibility up to 70) cannot apply.",
                record="Record the patient's birth date.",
            )
        )
    if facts.ecog is None:
        gaps.append(
            DataGap(
                code="no-ecog",
                text="No ECOG performance status: the frailty and transplant-eligibility proxies assume a fit patient.",
                record="Record the ECOG performance status (LOINC 89247-1).",
            )
        )
    if facts.prior_lines == 0:
        gaps.append(
            DataGap(
                code="lines-uncertain",
                text="Progression recorded but no prior line of anti-myeloma therapy could be identified.",
                record="Record the prior regimens (MedicationStatement / MedicationRequest with dates).",
            )
        )
    if facts.transplants and facts.months_asct_to_progression is None and facts.prior_lines <= 2:
        gaps.append(
            DataGap(
                code="asct-undated",
                text="A prior autologous transplant is recorded without a usable date: salvage ASCT cannot be judged.",
                record="Record the transplant Procedure with its date.",
            )
        )
    recommended_units = {d.unit for d in recommended.doses} if recommended else set()
    if "mg/m2" in recommended_units and facts.bsa_m2 is None:
        gaps.append(
            DataGap(
                code="no-bsa",
                text="Height or recent weight missing: mg/m² doses cannot be converted to a total dose.",
                record="Record height and a weight within 90 days.",
            )
        )
    if "mg/kg" in recommended_units and facts.weight_kg is None:
        gaps.append(
            DataGap(
                code="no-weight",
                text="No weight within 90 days: mg/kg doses cannot be converted to a total dose.",
                record="Record a current weight.",
            )
        )
    for note in facts.notes:
        if note.code in ("lines-uncertain", "asct-undated") and note.code not in {g.code for g in gaps}:
            gaps.append(DataGap(code=note.code, text=note.text, record="Review and complete the record."))
    return tuple(gaps)

