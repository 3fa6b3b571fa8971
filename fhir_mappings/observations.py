"""Numeric Observations by kind, normalised to the unit the rules use, with evidence.

A value whose unit is missing is ignored and noted (02 §4: "missing units: ignore the value and
say so"); so is a value whose unit we do not know how to convert. Units are compared on their
UCUM ``code`` first, then the human ``unit`` string, case-insensitively and ignoring spaces.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from fhir_mappings.dates import effective_date
from fhir_mappings.facts import DataNote, Evidence, Measurement
from fhir_mappings.index import ResourceIndex, listed
from fhir_mappings.terminology import Codes

# Lab results the IMWG computation trusts (02 §2.4); preliminary values are not used for it.
FINAL_STATUSES = frozenset({"final", "amended", "corrected"})

_LB_TO_KG = 0.45359237
_UNREAD: Any = object()


@dataclass(frozen=True, slots=True)
class Kind:
    """How to read one kind of numeric Observation."""

    name: str  # codes.json observation key
    label: str  # human text for evidence, e.g. "serum M-protein"
    unit: str  # the unit values are normalised to
    factors: dict[str, float]  # normalised unit spelling -> multiplier to ``unit``
    unit_required: bool = True


@lru_cache(maxsize=1024)
def _norm_unit(unit: str) -> str:
    return unit.replace(" ", "").replace("µ", "u").replace("μ", "u").lower()


def _factors(pairs: dict[str, float]) -> dict[str, float]:
    return {_norm_unit(k): v for k, v in pairs.items()}


SERUM_M_PROTEIN = Kind("serum_m_protein", "serum M-protein", "g/dL",
                       _factors({"g/dL": 1.0, "g/L": 0.1, "mg/dL": 0.001}))
URINE_M_PROTEIN = Kind("urine_m_protein_24h", "urine M-protein", "mg/24 h", _factors({
    "mg/(24.h)": 1.0, "mg/24h": 1.0, "mg/d": 1.0, "mg/(24h)": 1.0, "mg/day": 1.0, "mg/24hr": 1.0, "mg/24hrs": 1.0,
    "g/(24.h)": 1000.0, "g/24h": 1000.0, "g/d": 1000.0, "g/(24h)": 1000.0, "g/day": 1000.0, "g/24hr": 1000.0,
    "g/24hrs": 1000.0,
}))
FLC_KAPPA = Kind("flc_kappa", "free kappa", "mg/L", _factors({"mg/L": 1.0, "mg/dL": 10.0}))
FLC_LAMBDA = Kind("flc_lambda", "free lambda", "mg/L", _factors({"mg/L": 1.0, "mg/dL": 10.0}))
CREATININE = Kind("creatinine", "creatinine", "mg/dL",
                  _factors({"mg/dL": 1.0, "umol/L": 1 / 88.4, "micromol/L": 1 / 88.4,
                                                          "mmol/L": 1000 / 88.4}))
EGFR = Kind("egfr", "eGFR", "mL/min/1.73m2", _factors({
    "mL/min/{1.73_m2}": 1.0, "mL/min/1.73m2": 1.0, "mL/min/1.73_m2": 1.0, "mL/min/{1.73m2}": 1.0,
    "mL/min/1.73m²": 1.0, "mL/min/1.73m^2": 1.0, "mL/min": 1.0,
}))
CREATININE_CLEARANCE = Kind("creatinine_clearance", "measured CrCl", "mL/min", _factors({
    "mL/min": 1.0, "mL/min/{1.73_m2}": 1.0, "mL/min/1.73m2": 1.0,
}))
WEIGHT = Kind("body_weight", "weight", "kg", _factors({
    "kg": 1.0, "g": 0.001, "[lb_av]": _LB_TO_KG, "lb": _LB_TO_KG, "lbs": _LB_TO_KG, "kilogram": 1.0,
    "kilograms": 1.0, "pound": _LB_TO_KG, "pounds": _LB_TO_KG,
}))
HEIGHT = Kind("body_height", "height", "cm", _factors({"cm": 1.0, "m": 100.0, "[in_i]": 2.54, "in": 2.54}))
IGG = Kind("igg", "IgG", "mg/dL", _factors({"mg/dL": 1.0, "g/L": 100.0, "g/dL": 1000.0}))
LVEF = Kind("lvef", "LVEF", "%", _factors({"%": 1.0}))
# 13047-6 is "per 100 leukocytes": labs write it as a percent or as a count per 100 WBC.
PLASMA_CELLS = Kind("blood_plasma_cells", "circulating plasma cells", "%", _factors({
    "%": 1.0, "/100{WBCs}": 1.0, "/100{WBC}": 1.0, "/100{leukocytes}": 1.0, "%{WBCs}": 1.0, "%{leukocytes}": 1.0,
    "/100WBC": 1.0,
}))
ECOG = Kind("ecog", "ECOG", "{score}", {}, unit_required=False)

# LOINC answer codes of the ECOG scale (LL529-9), for coded ECOG values.
_ECOG_ANSWERS = {"LA9622-7": 0, "LA9623-5": 1, "LA9624-3": 2, "LA9625-0": 3, "LA9626-8": 4, "LA9627-6": 5}


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


# A number written as text, as some interfaces send it: "1.2 g/dL", "<0.1", "85 umol/L".
# A trailing abnormal flag ("1.4 g/dL (H)", "12 % H") is not part of the unit.
_NUMBER_TEXT = re.compile(r"^\s*(?:[<>]=?|[≤≥])?\s*(\d+(?:\.\d+)?|\.\d+)\s*([^\d\s(]\S*)?"
                          r"(?:\s+\(?(?:H|L|HH|LL|A|high|low|abnormal)\)?)?\s*$", re.IGNORECASE)


def _quantity(resource: dict[str, Any]) -> tuple[float | None, str | None]:
    """(value, unit) of valueQuantity, valueInteger or a numeric valueString. A comparator
    ("<0.1") keeps its number: the bound is the best value the report gives."""
    quantity = resource.get("valueQuantity")
    if not isinstance(quantity, dict):
        integer = resource.get("valueInteger")
        if isinstance(integer, int | float) and not isinstance(integer, bool) and math.isfinite(integer):
            return float(integer), None
        text = resource.get("valueString")
        match = _NUMBER_TEXT.match(text) if isinstance(text, str) and len(text) < 64 else None
        if match:
            return float(match.group(1)), match.group(2) or None
        return None, None
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, None
    for key in ("code", "unit"):
        unit = quantity.get(key)
        if isinstance(unit, str) and unit.strip():
            return float(value), unit.strip()
    return float(value), None


_NONE_DETECTED = re.compile(r"\b(?:not\s+detected|none\s+detected|no\s+(?:m[\s-]?spike|monoclonal|paraprotein|m[\s-]?protein)"
                            r"|negative|absent|undetectable)\b", re.IGNORECASE)


def _reports_none(obs: dict[str, Any]) -> bool:
    texts = [obs.get("valueString")]
    concept = obs.get("valueCodeableConcept")
    if isinstance(concept, dict):
        texts.append(concept.get("text"))
        texts += [c.get("display") for c in listed(concept.get("coding")) if isinstance(c, dict)]
    return any(isinstance(t, str) and _NONE_DETECTED.search(t) for t in texts)


def _convert(kind: Kind, unit: str | None) -> float | None:
    if unit is None:
        return None
    return kind.factors.get(_norm_unit(unit))


def ecog_value(resource: dict[str, Any]) -> int | None:
    """ECOG grade from valueInteger / valueQuantity / a coded answer (code or display 0-5)."""
    value, _unit = _quantity(resource)
    if value is not None and value == int(value) and 0 <= value <= 5:
        return int(value)
    concept = resource.get("valueCodeableConcept")
    if isinstance(concept, dict):
        for coding in listed(concept.get("coding")):
            if not isinstance(coding, dict):
                continue
            code = coding.get("code")
            if code in _ECOG_ANSWERS:
                return _ECOG_ANSWERS[code]
            for candidate in (code, coding.get("display")):
                grade = _leading_grade(candidate)
                if grade is not None:
                    return grade
        return _leading_grade(concept.get("text"))
    return _leading_grade(resource.get("valueString"))


def _leading_grade(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    for token in stripped.replace(":", " ").split():
        if token in {"0", "1", "2", "3", "4", "5"}:
            return int(token)
    return None


class ObservationReader:
    """Reads numeric Observations of each kind once and remembers what it had to ignore."""

    def __init__(self, index: ResourceIndex, evaluation_date: date, codes: Codes | None = None) -> None:
        self._index = index
        self._evaluation_date = evaluation_date
        self._codes = codes or Codes.default()
        # Each kind's series is read once (all statuses); ``final_only`` filters that one reading.
        self._series: dict[str, list[tuple[Measurement, bool]]] = {}
        self._measurements: dict[tuple[str, bool], list[Measurement]] = {}
        self._resources: dict[str, list[dict[str, Any]]] = {}
        self._latest: dict[tuple[str, int | None], Measurement | None] = {}
        # effective_date per Observation (by identity: the index keeps every resource alive).
        self._dates: dict[int, date | None] = {}
        self.notes: list[DataNote] = []

    def resources(self, kind_name: str) -> list[dict[str, Any]]:
        """Observations carrying any LOINC code of the kind, each once (looked up once per kind)."""
        found = self._resources.get(kind_name)
        if found is None:
            seen: set[int] = set()
            found = []
            for code in sorted(self._codes.loinc(kind_name)):
                for obs in self._index.observations_with_code(code):
                    if id(obs) not in seen:
                        seen.add(id(obs))
                        found.append(obs)
            self._resources[kind_name] = found
        return found

    def _date(self, obs: dict[str, Any]) -> date | None:
        key = id(obs)
        when = self._dates.get(key, _UNREAD)
        if when is _UNREAD:
            when = self._dates[key] = effective_date(obs)
        return when  # type: ignore[return-value]

    def measurements(self, kind: Kind, final_only: bool = False) -> list[Measurement]:
        """Every usable value of ``kind``, normalised, sorted by date (stable for ties)."""
        key = (kind.name, final_only)
        found = self._measurements.get(key)
        if found is None:
            series = self._series.get(kind.name)
            if series is None:
                series = self._series[kind.name] = self._read(kind)
            found = [m for m, final in series if final] if final_only else [m for m, _ in series]
            self._measurements[key] = found
        return found

    def latest(self, kind: Kind, within: int | None = None,
               accept: Callable[[Measurement], bool] | None = None) -> Measurement | None:
        """The most recent usable value (optionally within ``within`` days of the evaluation date).

        Only the candidates from the newest backwards are converted, so a record with thousands
        of creatinine values costs one date parse per value, not one full reading."""
        key = (kind.name, within)
        if accept is None and key in self._latest:
            return self._latest[key]
        earliest = self._evaluation_date - timedelta(days=within) if within is not None else date.min
        dated: list[tuple[date, int, dict[str, Any]]] = []
        for position, obs in enumerate(self.resources(kind.name)):
            when = self._date(obs)
            if when is not None and earliest <= when <= self._evaluation_date:
                dated.append((when, position, obs))
        dated.sort(key=lambda item: (item[0], item[1]))
        found = None
        for when, _position, obs in reversed(dated):
            measurement = self._measure(kind, obs, when)
            if measurement is not None and (accept is None or accept(measurement)):
                found = measurement
                break
        if accept is None:
            # The same question again (weight for renal function and for body size) is answered
            # from here: a second reading would also repeat the notes of unusable values.
            self._latest[key] = found
        return found

    def _read(self, kind: Kind) -> list[tuple[Measurement, bool]]:
        """(measurement, whether its status is one the IMWG computation trusts), by date."""
        result: list[tuple[Measurement, bool]] = []
        for obs in self.resources(kind.name):
            when = self._date(obs)
            if when is None or when > self._evaluation_date:
                continue  # undated, or after the evaluation date: not known "now"
            measurement = self._measure(kind, obs, when)
            if measurement is not None:
                status = obs.get("status")
                result.append((measurement, not isinstance(status, str) or status in FINAL_STATUSES))
        result.sort(key=lambda item: item[0].date)
        return result

    def _measure(self, kind: Kind, obs: dict[str, Any], when: date) -> Measurement | None:
        if kind is ECOG:
            grade = ecog_value(obs)
            if grade is None:
                return None
            return Measurement(float(grade), kind.unit, when, self._evidence(obs, when, f"ECOG {grade}", grade, None))
        value, unit = _quantity(obs)
        if value is None and kind in (SERUM_M_PROTEIN, URINE_M_PROTEIN) and _reports_none(obs):
            # "No M-spike detected": a measured zero, which matters as a nadir.
            value, unit = 0.0, kind.unit
        if value is None:
            return None
        if unit is None and kind.unit_required:
            self.notes.append(DataNote("missing-unit", f"{kind.label} {when.isoformat()} has no unit: ignored"))
            return None
        factor = _convert(kind, unit) if unit is not None else 1.0
        if factor is None:
            self.notes.append(DataNote("unknown-unit", f"{kind.label} {when.isoformat()} in unit '{unit}' not understood: ignored"))
            return None
        normalised = value * factor
        text = f"{kind.label} {_fmt(normalised)} {kind.unit}"
        if factor != 1.0:
            text += f" ({_fmt(value)} {unit})"
        return Measurement(normalised, kind.unit, when, self._evidence(obs, when, text, normalised, kind.unit))

    @staticmethod
    def _evidence(obs: dict[str, Any], when: date, text: str, value: float | int | None, unit: str | None) -> Evidence:
        rid = obs.get("id")
        return Evidence("Observation", rid if isinstance(rid, str) else "", when, text,
                        float(value) if value is not None else None, unit)


def format_number(value: float) -> str:
    return _fmt(value)
