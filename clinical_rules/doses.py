"""Starting doses for suggested orders (03 §5): the single implementation of renal, neuropathy
and age adjustments, shared by patient-view and the order checks.

``starting_dose("lenalidomide", "DRd", facts, kb)`` is "the renal-adjusted dose of lenalidomide
in DRd for this patient". The dose of a drug in a regimen is the regimen's own one from doses.yaml
or, when the regimen is listed in ``standard_in``, the standard one; adjustments then apply in a
fixed order: renal band (first match), peripheral neuropathy, age.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clinical_rules.decisions import Dose, Sentence, say
from clinical_rules.kb import KnowledgeBase
from clinical_rules.kbmodel.doses import DrugDose, RenalBand

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts


class UnknownDrugDose(KeyError):
    """The knowledge base has no dose for this drug (or for it in this regimen)."""


def starting_dose(drug: str, regimen_id: str | None, facts: PatientFacts, kb: KnowledgeBase) -> Dose:
    """The adjusted starting dose of ``drug`` (generic name) within ``regimen_id`` for this patient."""
    entry = kb.doses.get(drug)
    if entry is None:
        raise UnknownDrugDose(drug)
    standard = entry.standard
    fields: dict[str, Any] = {
        "value": standard.value, "unit": standard.unit, "route": standard.route, "frequency": standard.frequency,
        "period": standard.period, "period_unit": standard.period_unit, "schedule": standard.schedule,
    }
    if regimen_id is not None and regimen_id in kb.regimens:
        fields.update(_regimen_change(entry, drug, regimen_id, kb))
    adjustments: list[Sentence] = []

    if entry.renal:
        band = _renal_band(entry.renal, facts)
        if band is not None:
            fields.update(band.changed())
            adjustments.append(_reason(band.reason, fields, kb, crcl_below=band.crcl_below,
                                       crcl_from=_lower_limit(entry.renal, band)))
        elif not facts.renal.known:
            adjustments.append(say(kb.dose_texts.renal_unknown))
    neuropathy = entry.neuropathy
    if neuropathy is not None and facts.neuropathy.present:
        change = neuropathy.changed_in(regimen_id)
        if change:
            fields.update(change)
            adjustments.append(_reason(neuropathy.reason, fields, kb))
    elderly = entry.elderly
    if elderly is not None and facts.age is not None and facts.age > elderly.age_above:
        standard_value = fields["value"]
        fields["value"] = fields["value"] * elderly.factor
        adjustments.append(_reason(elderly.reason, fields, kb, age_above=elderly.age_above, factor=elderly.factor,
                                   standard=_clean_number(standard_value)))

    value = _clean_number(fields["value"])
    schedule = fields["schedule"].render()
    total = _total_mg(value, fields["unit"], facts, entry.bsa_cap_m2)
    return Dose(
        drug=drug,
        value=value,
        unit=fields["unit"],
        route=fields["route"],
        frequency=int(fields["frequency"]),
        period=_clean_number(fields["period"]),
        period_unit=fields["period_unit"],
        schedule=schedule,
        text=_dose_text(drug, value, fields, schedule, total, facts, entry.bsa_cap_m2, adjustments, kb),
        total_mg=total,
        rxnorm=kb.rxnorm_of(drug),
        adjustments=tuple(adjustments),
        rule_id=f"DOSE-{drug.upper().replace(' ', '-')}",
        seeds=entry.seeds,
        kb_version=kb.version,
    )


def timing_text(frequency: int, period: float, period_unit: str, kb: KnowledgeBase) -> str:
    """"daily", "every 48 hours", "weekly" or "3× per 28 days" (doses.yaml timing_texts)."""
    texts = kb.timing_texts
    named = texts.named.get(f"{frequency}/{period:g}{period_unit}")
    if named is not None:
        return named
    return texts.other.render(frequency=frequency, period=f"{period:g}", unit=texts.unit_words[period_unit])


def dose_timing(dose: Dose, kb: KnowledgeBase) -> str:
    return timing_text(dose.frequency, dose.period, dose.period_unit, kb)


def short_dose(dose: Dose, kb: KnowledgeBase) -> str:
    """"10 mg daily": the amount and the timing in words."""
    return f"{dose.value:g} {dose.unit} {dose_timing(dose, kb)}"


def _regimen_change(entry: DrugDose, drug: str, regimen_id: str, kb: KnowledgeBase) -> dict[str, Any]:
    change = entry.regimens.get(regimen_id)
    if change is not None:
        return change.changed()
    if regimen_id in entry.standard_in or regimen_id not in kb.suggestable:
        return {}  # a regimen only recognised in drafted orders is judged against the standard dose
    # The knowledge base refuses a listed regimen without a dose choice at start-up.
    raise UnknownDrugDose(f"{drug} in {regimen_id}")


def _reason(template: Any, fields: dict[str, Any], kb: KnowledgeBase, **extra: Any) -> Sentence:
    values = {
        "value": f"{_clean_number(fields['value']):g}", "unit": kb.units[fields["unit"]],
        "timing": timing_text(int(fields["frequency"]), float(fields["period"]), fields["period_unit"], kb),
        "route": fields["route"],
    }
    values.update({k: (f"{v:g}" if isinstance(v, float) else v) for k, v in extra.items() if v is not None})
    return say(template, **values)


def _renal_band(bands: tuple[RenalBand, ...], facts: PatientFacts) -> RenalBand | None:
    renal = facts.renal
    for band in bands:
        if band.dialysis and renal.dialysis:
            return band
        limit = band.crcl_below
        # Dialysis decides on its own: a CrCl measured between sessions does not pick a band.
        if limit is not None and not renal.dialysis and renal.crcl_ml_min is not None and renal.crcl_ml_min < limit:
            return band
    if renal.dialysis:
        # No dialysis band for this drug: the lowest CrCl band is the closest label guidance.
        crcl_bands = [b for b in bands if b.crcl_below is not None]
        if crcl_bands:
            return min(crcl_bands, key=lambda b: b.crcl_below or 0.0)
    return None


def _lower_limit(bands: tuple[RenalBand, ...], band: RenalBand) -> float | None:
    """The CrCl from which ``band`` applies: the next lower band's limit ("15–<30")."""
    if band.crcl_below is None:
        return None
    lower = [b.crcl_below for b in bands if b.crcl_below is not None and b.crcl_below < band.crcl_below]
    return max(lower) if lower else None


def _total_mg(value: float, unit: str, facts: PatientFacts, bsa_cap: float | None) -> float | None:
    if unit == "mg/m2" and facts.bsa_m2 is not None:
        bsa = min(facts.bsa_m2, bsa_cap) if bsa_cap else facts.bsa_m2
        return round(value * bsa, 1)
    if unit == "mg/kg" and facts.weight_kg is not None:
        return round(value * facts.weight_kg.value)
    return None


def _dose_text(drug: str, value: float, fields: dict[str, Any], schedule: str, total: float | None,
               facts: PatientFacts, bsa_cap: float | None, adjustments: list[Sentence], kb: KnowledgeBase) -> str:
    texts = kb.dose_texts
    unit = fields["unit"]
    amount = texts.amount.render(value=_fmt(value), unit=kb.units[unit])
    if total is not None and unit == "mg/m2":
        bsa = facts.bsa_m2 or 0.0
        capped = texts.bsa_capped.render(cap=_fmt(bsa_cap)) if bsa_cap and bsa > bsa_cap else ""
        dose = texts.total_by_bsa.render(amount=amount, total=_fmt(total), bsa=f"{bsa:.2f}", capped=capped)
    elif total is not None and unit == "mg/kg" and facts.weight_kg is not None:
        dose = texts.total_by_weight.render(amount=amount, total=_fmt(total), weight=_fmt(round(facts.weight_kg.value, 1)))
    elif unit != "mg":
        dose = texts.total_unknown.render(amount=amount)
    else:
        dose = amount
    names_route = any(word in schedule for terms in kb.routes.values() for word in terms.named_by)
    if not names_route:
        schedule = texts.routed_schedule.render(route=kb.routes[fields["route"]].named_by[0], schedule=schedule)
    text = texts.order.render(drug=drug, dose=dose, schedule=schedule)
    if adjustments:
        text = texts.adjusted.render(text=text, adjustments="; ".join(a.text for a in adjustments))
    return text


def _clean_number(number: float) -> float:
    """20.0 -> 20 (an int-valued float prints and serialises as the clinician expects)."""
    rounded = round(float(number), 3)
    return int(rounded) if rounded.is_integer() else rounded


def _fmt(number: float | None) -> str:
    return "" if number is None else f"{number:g}"
