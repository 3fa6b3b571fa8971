"""Starting doses for suggested orders (03 §5): the single implementation of renal, neuropathy
and age adjustments, shared by patient-view and the order checks.

``starting_dose("lenalidomide", "DRd", facts, kb)`` is "the renal-adjusted dose of lenalidomide
for this patient". Adjustments apply in a fixed order: regimen schedule, renal band (first match),
peripheral neuropathy, age.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clinical_rules.decisions import Dose
from clinical_rules.kb import KnowledgeBase

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts

ROUTE_WORDS = {"oral": "orally", "subcutaneous": "subcutaneously", "intravenous": "IV"}
UNIT_TEXT = {"mg": "mg", "mg/m2": "mg/m²", "mg/kg": "mg/kg"}
_DOSE_KEYS = ("value", "unit", "route", "frequency", "period", "period_unit", "schedule")


class UnknownDrugDose(KeyError):
    """The knowledge base has no dose for this drug."""


def starting_dose(drug: str, regimen_id: str | None, facts: PatientFacts, kb: KnowledgeBase) -> Dose:
    """The adjusted starting dose of ``drug`` (generic name) within ``regimen_id`` for this patient."""
    entry = kb.doses.get(drug)
    if entry is None:
        raise UnknownDrugDose(drug)
    fields: dict[str, Any] = dict(entry["standard"])
    if regimen_id is not None:
        fields.update(entry.get("regimens", {}).get(regimen_id, {}))
    adjustments: list[str] = []

    if entry.get("renal"):
        band = _renal_band(entry["renal"], facts)
        if band is not None:
            fields.update(band)
            adjustments.append(band["reason"])
        elif not facts.renal.known:
            adjustments.append(
                "renal function unknown (no creatinine in 90 days): standard starting dose; "
                "check creatinine clearance before dosing"
            )
    neuropathy = entry.get("neuropathy")
    if neuropathy and facts.neuropathy.present:
        fields.update(neuropathy)
        adjustments.append(neuropathy["reason"])
    elderly = entry.get("elderly")
    if elderly and facts.age is not None and facts.age > elderly["age_above"]:
        fields["value"] = fields["value"] * elderly["factor"]
        adjustments.append(elderly["reason"])

    value = _clean_number(fields["value"])
    total = _total_mg(value, fields["unit"], facts, entry.get("bsa_cap_m2"))
    return Dose(
        drug=drug,
        value=value,
        unit=fields["unit"],
        route=fields["route"],
        frequency=int(fields["frequency"]),
        period=_clean_number(fields["period"]),
        period_unit=fields["period_unit"],
        cycle_days=fields["schedule"],
        text=_dose_text(drug, value, fields, total, facts, entry.get("bsa_cap_m2"), adjustments),
        total_mg=total,
        rxnorm=kb.rxnorm_of(drug),
        adjustments=tuple(adjustments),
        rule_id=f"DOSE-{drug.upper().replace(' ', '-')}",
        seeds=tuple(entry["seeds"]),
        kb_version=kb.version,
    )


def renal_band_reason(drug: str, facts: PatientFacts, kb: KnowledgeBase) -> str | None:
    """Why ``drug`` is renally reduced for this patient, or None (no band applies or unknown)."""
    entry = kb.doses.get(drug, {})
    band = _renal_band(entry.get("renal", []), facts)
    return band["reason"] if band else None


def _renal_band(bands: list[dict[str, Any]], facts: PatientFacts) -> dict[str, Any] | None:
    renal = facts.renal
    for band in bands:
        if band.get("dialysis") and renal.dialysis:
            return _dose_part(band)
        limit = band.get("crcl_below")
        # Dialysis decides on its own: a CrCl measured between sessions does not pick a band.
        if limit is not None and not renal.dialysis and renal.crcl_ml_min is not None and renal.crcl_ml_min < limit:
            return _dose_part(band)
    if renal.dialysis:
        # No dialysis band for this drug: the lowest CrCl band is the closest label guidance.
        crcl_bands = [b for b in bands if b.get("crcl_below") is not None]
        if crcl_bands:
            return _dose_part(min(crcl_bands, key=lambda b: b["crcl_below"]))
    return None


def _dose_part(band: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in band.items() if k in _DOSE_KEYS or k == "reason"}


def _total_mg(value: float, unit: str, facts: PatientFacts, bsa_cap: float | None) -> float | None:
    if unit == "mg/m2" and facts.bsa_m2 is not None:
        bsa = min(facts.bsa_m2, bsa_cap) if bsa_cap else facts.bsa_m2
        return round(value * bsa, 1)
    if unit == "mg/kg" and facts.weight_kg is not None:
        return round(value * facts.weight_kg.value)
    return None


def _dose_text(
    drug: str,
    value: float,
    fields: dict[str, Any],
    total: float | None,
    facts: PatientFacts,
    bsa_cap: float | None,
    adjustments: list[str],
) -> str:
    unit = fields["unit"]
    dose = f"{_fmt(value)} {UNIT_TEXT[unit]}"
    if total is not None and unit == "mg/m2":
        bsa = facts.bsa_m2 or 0.0
        capped = f", capped at {_fmt(bsa_cap)} m²" if bsa_cap and bsa > bsa_cap else ""
        dose += f" (= {_fmt(total)} mg at BSA {bsa:.2f} m²{capped})"
    elif total is not None and unit == "mg/kg" and facts.weight_kg is not None:
        dose += f" (= {_fmt(total)} mg at {_fmt(round(facts.weight_kg.value, 1))} kg)"
    elif unit != "mg":
        dose += " (height/weight not on file: compute the total before dispensing)"
    schedule = fields["schedule"]
    route_word = ROUTE_WORDS[fields["route"]]
    mentions_route = any(w in schedule for w in ("orally", "subcutaneously", "IV", "infusion"))
    text = f"{drug} {dose} {schedule if mentions_route else f'{route_word} {schedule}'}"
    if adjustments:
        text += f". Adjusted: {'; '.join(adjustments)}"
    return text


def _clean_number(number: float) -> float:
    """20.0 -> 20 (an int-valued float prints and serialises as the clinician expects)."""
    rounded = round(float(number), 3)
    return int(rounded) if rounded.is_integer() else rounded


def _fmt(number: float | None) -> str:
    return "" if number is None else f"{number:g}"
