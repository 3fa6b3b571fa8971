"""The facts a relapse decision relied on, as sentences with their resources (for card details)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clinical_rules.decisions import FactUsed

if TYPE_CHECKING:
    from fhir_mappings.facts import DrugHistory, PatientFacts


def facts_used(facts: PatientFacts) -> tuple[FactUsed, ...]:
    """Everything the treatment choice relied on, in reading order."""
    return (
        *progression_facts(facts),
        *line_facts(facts),
        *refractoriness_facts(facts),
        *transplant_facts(facts),
        *cytogenetic_facts(facts),
        *_patient_state(facts),
    )


def progression_facts(facts: PatientFacts) -> tuple[FactUsed, ...]:
    progression = facts.latest_progression
    if progression is None:
        return ()
    return (FactUsed(f"progression {progression.date.isoformat()}: {progression.description}", progression.evidence),)


def line_facts(facts: PatientFacts) -> tuple[FactUsed, ...]:
    used: list[FactUsed] = []
    for line in facts.lines:
        asct = " + ASCT" if line.includes_asct else ""
        maintenance = f", maintenance {', '.join(line.maintenance_drugs)}" if line.maintenance_drugs else ""
        used.append(
            FactUsed(
                f"line {line.number} from {line.start.isoformat()}: {', '.join(line.drugs)}{asct}{maintenance}",
                line.evidence,
            )
        )
    used.append(FactUsed(f"prior lines of therapy: {facts.prior_lines}"))
    return tuple(used)


def refractoriness_facts(facts: PatientFacts) -> tuple[FactUsed, ...]:
    used = [_refractory_fact(history) for history in facts.drug_histories if history.refractory]
    if facts.anti_cd38_exposed and not facts.anti_cd38_refractory:
        exposures = [e for h in facts.drug_histories if "anti-CD38" in h.classes for e in h.exposures]
        first = min(exposures, key=lambda e: e.start) if exposures else None
        since = f" (since {first.start.isoformat()})" if first else ""
        used.append(FactUsed(f"anti-CD38 exposed, not refractory{since}", tuple(ev for e in exposures for ev in e.evidence)))
    for label, flag in (
        ("triple-class refractory", facts.triple_class_refractory),
        ("penta-refractory", facts.penta_refractory),
    ):
        if flag:
            used.append(FactUsed(label))
    return tuple(used)


def transplant_facts(facts: PatientFacts) -> tuple[FactUsed, ...]:
    used = []
    for transplant in facts.transplants:
        when = transplant.date.isoformat() if transplant.date else "date unknown"
        used.append(FactUsed(f"autologous stem-cell transplant ({when})", (transplant.evidence,)))
    if facts.months_asct_to_progression is not None:
        used.append(FactUsed(f"{facts.months_asct_to_progression:.0f} months from the last ASCT to the first progression after it"))
    return tuple(used)


def cytogenetic_facts(facts: PatientFacts) -> tuple[FactUsed, ...]:
    used = []
    for result in facts.cytogenetics:
        status = "positive" if result.positive else "negative"
        when = f" ({result.date.isoformat()})" if result.date else ""
        used.append(FactUsed(f"{ABNORMALITY_TEXT[result.abnormality]} {status}{when}", (result.evidence,)))
    return tuple(used)


def eligibility_facts(facts: PatientFacts) -> tuple[FactUsed, ...]:
    """Age, ECOG and the frailty / transplant-eligibility proxies."""
    used: list[FactUsed] = []
    if facts.age is not None:
        used.append(FactUsed(f"age {facts.age}"))
    if facts.ecog is not None:
        used.append(FactUsed(f"ECOG {facts.ecog.value:g} ({facts.ecog.date.isoformat()})", (facts.ecog.evidence,)))
    used.append(
        FactUsed(
            f"frail (proxy: ECOG ≥ 2 or age ≥ 80): {'yes' if facts.frail else 'no'}; "
            f"transplant-eligible (proxy): {'yes' if facts.transplant_eligible else 'no'}"
        )
    )
    return tuple(used)


def aggressive_facts(facts: PatientFacts) -> tuple[FactUsed, ...]:
    used = [
        FactUsed(label, finding.evidence)
        for label, finding in (
            ("plasma cell leukaemia", facts.plasma_cell_leukaemia),
            ("extramedullary disease", facts.extramedullary),
        )
        if finding.present
    ]
    cpc = facts.circulating_plasma_cells_percent
    if cpc is not None:
        used.append(FactUsed(f"circulating plasma cells {cpc.value:g} % ({cpc.date.isoformat()})", (cpc.evidence,)))
    return tuple(used)


ABNORMALITY_TEXT = {
    "del17p": "del(17p)",
    "t4_14": "t(4;14)",
    "t14_16": "t(14;16)",
    "t11_14": "t(11;14)",
    "gain1q": "1q gain/amplification",
}


def _refractory_fact(history: DrugHistory) -> FactUsed:
    event, exposure = history.refractory_event, history.refractory_exposure
    text = f"{history.drug}-refractory"
    evidence = list(history.refractory_exposure.evidence if exposure else ())
    if event is not None:
        text += f": progression {event.date.isoformat()} — {event.description}"
        evidence = list(event.evidence) + evidence
    if exposure is not None:
        text += (
            f" — while on {history.drug} since {exposure.start.isoformat()}"
            if exposure.ongoing
            else f" — {history.drug} {exposure.start.isoformat()} to {exposure.end.isoformat()}"
        )
    return FactUsed(text, tuple(evidence))


def _patient_state(facts: PatientFacts) -> list[FactUsed]:
    used = list(eligibility_facts(facts))
    renal = facts.renal
    if renal.dialysis:
        used.append(FactUsed("on dialysis", renal.evidence))
    if renal.crcl_ml_min is not None:
        method = {"cockcroft-gault": "Cockcroft-Gault", "egfr": "eGFR", "measured-crcl": "measured"}.get(
            renal.method or "", "estimated"
        )
        parts = [f"CrCl {renal.crcl_ml_min:.0f} mL/min ({method})"]
        if renal.creatinine_mg_dl is not None:
            c = renal.creatinine_mg_dl
            parts.append(f"creatinine {c.value:.2f} mg/dL ({c.date.isoformat()})")
        if renal.weight_kg is not None:
            parts.append(f"weight {renal.weight_kg.value:.1f} kg ({renal.weight_kg.date.isoformat()})")
        used.append(FactUsed("; ".join(parts), renal.evidence))
    for note in renal.notes:
        used.append(FactUsed(note))
    if facts.bsa_m2 is not None:
        used.append(FactUsed(f"BSA {facts.bsa_m2:.2f} m² (Mosteller)"))
    for label, finding in (
        ("heart failure or LVEF < 40 %", facts.heart_failure),
        ("peripheral neuropathy", facts.neuropathy),
        ("prior venous thromboembolism", facts.vte_history),
        ("plasma cell leukaemia", facts.plasma_cell_leukaemia),
        ("extramedullary disease", facts.extramedullary),
    ):
        if finding.present:
            used.append(FactUsed(label, finding.evidence))
    if facts.lvef_percent is not None:
        lvef = facts.lvef_percent
        used.append(FactUsed(f"LVEF {lvef.value:g} % ({lvef.date.isoformat()})", (lvef.evidence,)))
    return used
