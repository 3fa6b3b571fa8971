"""Patient state for dosing and modifiers (02 §2.8): demographics, renal function, heart,
performance status, frailty / transplant-eligibility proxies, body size, IgG, circulating
plasma cells."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir_mappings.dates import completed_years, parse_date
from fhir_mappings.facts import DataNote, Evidence, Finding, Measurement, Renal, Sex
from fhir_mappings.observations import (
    CREATININE,
    CREATININE_CLEARANCE,
    EGFR,
    HEIGHT,
    LVEF,
    WEIGHT,
    ObservationReader,
)
from fhir_mappings.parameters import DEFAULT_PARAMETERS, DerivationParameters

_SEXES: frozenset[str] = frozenset({"male", "female", "other", "unknown"})


@dataclass(frozen=True, slots=True)
class Demographics:
    sex: Sex
    birth_date: date | None
    age: int | None


def demographics(patient: dict[str, Any] | None, evaluation_date: date) -> Demographics:
    if not isinstance(patient, dict):
        return Demographics("unknown", None, None)
    gender = patient.get("gender")
    sex: Sex = gender if isinstance(gender, str) and gender in _SEXES else "unknown"  # type: ignore[assignment]
    raw_birth = patient.get("birthDate")
    birth = parse_date(raw_birth)
    age = completed_years(birth, evaluation_date) if birth and birth <= evaluation_date else None
    return Demographics(sex, birth, age)


def cockcroft_gault(age: int, weight_kg: float, creatinine_mg_dl: float, sex: Sex) -> float | None:
    if creatinine_mg_dl <= 0 or weight_kg <= 0:
        return None
    crcl = (140 - age) * weight_kg / (72 * creatinine_mg_dl)
    return crcl * 0.85 if sex == "female" else crcl


def renal_function(reader: ObservationReader, demo: Demographics, dialysis: Finding,
                   evaluation_date: date, params: DerivationParameters = DEFAULT_PARAMETERS) -> Renal:
    recent = params.creatinine_recent_days
    creatinine = reader.latest(CREATININE, recent)
    weight = reader.latest(WEIGHT, params.weight_recent_days)
    notes: list[str] = []
    evidence: list[Evidence] = list(dialysis.evidence)
    if creatinine is not None and weight is not None and demo.age is not None:
        crcl = cockcroft_gault(demo.age, weight.value, creatinine.value, demo.sex)
        if crcl is not None:
            evidence += [creatinine.evidence, weight.evidence]
            return Renal(round(crcl, 1), "cockcroft-gault", dialysis.present, creatinine, weight,
                         tuple(evidence), tuple(notes))
    if creatinine is None:
        notes.append(f"no creatinine within {recent} days")
    if weight is None:
        notes.append(f"no weight within {params.weight_recent_days} days")
    if demo.age is None:
        notes.append("age unknown")
    # 02 §2.8: without a weight, an eGFR or measured CrCl within 90 days stands in (and is named);
    # it also stands in when the creatinine itself is older: "an eGFR or measured CrCl also counts
    # only within 90 days" makes them recent renal data in their own right, and a lab that
    # reports an eGFR measured the creatinine behind it.
    fallback = _latest_of(reader.latest(EGFR, recent), reader.latest(CREATININE_CLEARANCE, recent))
    if fallback is not None:
        kind, measurement = fallback
        notes.append(f"{'eGFR' if kind == 'egfr' else 'measured CrCl'} used instead of Cockcroft-Gault")
        evidence.append(measurement.evidence)
        return Renal(round(measurement.value, 1), kind, dialysis.present, creatinine, weight,  # type: ignore[arg-type]
                     tuple(evidence), tuple(notes))
    last_kind, last_value = _last_renal_value(reader, creatinine)
    return Renal(None, None, dialysis.present, creatinine, weight, tuple(evidence), tuple(notes),
                 last_value, last_kind)  # type: ignore[arg-type]


def _last_renal_value(reader: ObservationReader, creatinine: Measurement | None
                      ) -> tuple[str | None, Measurement | None]:
    """The latest creatinine, eGFR or measured CrCl at any date (a recent creatinine is the
    latest there is); on a tie the creatinine, which every renal value derives from."""
    if creatinine is not None:
        return "creatinine", creatinine
    options = [(m.date, -rank, kind, m) for rank, (kind, m) in enumerate(
        (("creatinine", reader.latest(CREATININE)), ("egfr", reader.latest(EGFR)),
         ("measured-crcl", reader.latest(CREATININE_CLEARANCE)))) if m is not None]
    if not options:
        return None, None
    _date, _rank, kind, measurement = max(options, key=lambda o: (o[0], o[1]))
    return kind, measurement


def _latest_of(egfr: Measurement | None, measured: Measurement | None) -> tuple[str, Measurement] | None:
    options = [(m.date, rank, kind, m) for rank, (kind, m) in
               enumerate((("egfr", egfr), ("measured-crcl", measured))) if m is not None]
    if not options:
        return None
    _date, _rank, kind, measurement = max(options, key=lambda o: (o[0], o[1]))
    return kind, measurement


def heart_failure(condition_finding: Finding, lvef: Measurement | None,
                  params: DerivationParameters = DEFAULT_PARAMETERS) -> Finding:
    evidence = list(condition_finding.evidence)
    low_ef = lvef is not None and lvef.value < params.heart_failure_lvef_below
    if low_ef and lvef is not None:
        evidence.append(lvef.evidence)
    return Finding(condition_finding.present or low_ef, tuple(evidence))


def latest_lvef(reader: ObservationReader) -> Measurement | None:
    return reader.latest(LVEF)


def is_frail(ecog: Measurement | None, age: int | None, params: DerivationParameters = DEFAULT_PARAMETERS) -> bool:
    """Proxy: ECOG >= 2 or age >= 80 (the parameters' values)."""
    return ((ecog is not None and ecog.value >= params.frail_min_ecog)
            or (age is not None and age >= params.frail_min_age))


def is_transplant_eligible(ecog: Measurement | None, age: int | None,
                           params: DerivationParameters = DEFAULT_PARAMETERS) -> bool:
    """Proxy: age <= 70, not frail, ECOG <= 1 or unknown. Unknown age is not eligible."""
    if age is None or age > params.transplant_max_age or is_frail(ecog, age, params):
        return False
    return ecog is None or ecog.value <= params.transplant_max_ecog


def body_size(reader: ObservationReader, params: DerivationParameters = DEFAULT_PARAMETERS
              ) -> tuple[Measurement | None, Measurement | None, float | None]:
    """(height any date, recent weight, Mosteller BSA)."""
    height = reader.latest(HEIGHT, accept=lambda m: m.value > 0)
    weight = reader.latest(WEIGHT, params.weight_recent_days)
    bsa = None
    if height is not None and weight is not None and weight.value > 0:
        bsa = round(math.sqrt(height.value * weight.value / 3600), 2)
    return height, weight, bsa


def renal_notes(renal: Renal, params: DerivationParameters = DEFAULT_PARAMETERS) -> list[DataNote]:
    if renal.crcl_ml_min is None and not renal.dialysis:
        # Say what is missing: a recent creatinine without a weight (or age) is not "no creatinine".
        recent = params.creatinine_recent_days
        missing = "; ".join(renal.notes) or f"no creatinine within {recent} days"
        return [DataNote("no-recent-creatinine",
                         f"renal dosing unknown: {missing}, and no eGFR or measured CrCl within {recent} days")]
    if renal.method in ("egfr", "measured-crcl"):
        return [DataNote("renal-fallback", f"renal function from {renal.method}: " + "; ".join(renal.notes))]
    return []
