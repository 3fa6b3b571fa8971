"""Value sets per analyte and finding, from ``fhir_mappings/data/value_sets.json``.

Real laboratories code one analyte several ways (M-protein as 33358-3 or as monoclonal band 1,
51435-6; creatinine in serum, plasma or blood; eGFR by each equation; weight measured or stated;
LVEF by echo or another method). The table lists every code the mapping accepts for an analyte,
with its display and where that display was checked. It is read once per process; lookups are
dictionary reads.

- :func:`analyte_for` — the analyte a coding (or a LOINC code) belongs to, or None;
- :func:`codes_of` — every code of one analyte;
- :func:`condition_exclusions` / :func:`condition_inclusions` — codes whose meaning decides a
  condition kind on their own (an exclusion such as ICD-10-CM I11.9 "Hypertensive heart disease
  without heart failure" is never heart failure, whatever its display text says).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_LOINC_SYSTEMS = frozenset({"http://loinc.org", "urn:oid:2.16.840.1.113883.6.1", ""})


@dataclass(frozen=True, slots=True)
class ValueSetCode:
    system: str
    code: str
    display: str
    source: str


@dataclass(frozen=True, slots=True)
class ValueSets:
    analytes: dict[str, tuple[ValueSetCode, ...]]
    by_code: dict[str, str]  # LOINC code -> analyte
    inclusions: dict[str, tuple[ValueSetCode, ...]]
    exclusions: dict[str, tuple[ValueSetCode, ...]]


def _codes(rows: Any) -> tuple[ValueSetCode, ...]:
    return tuple(ValueSetCode(r["system"], r["code"], r["display"], r["source"]) for r in rows or ())


@cache
def value_sets() -> ValueSets:
    text = resources.files("fhir_mappings").joinpath("data", "value_sets.json").read_text(encoding="utf-8")
    data = json.loads(text)
    analytes = {name: _codes(row.get("codes")) for name, row in (data.get("analytes") or {}).items()}
    by_code: dict[str, str] = {}
    for name, codes in analytes.items():
        for code in codes:
            if code.code in by_code:
                raise ValueError(f"value_sets.json: {code.code} is in both {by_code[code.code]} and {name}")
            by_code[code.code] = name
    conditions = data.get("condition_codes") or {}
    return ValueSets(
        analytes=analytes,
        by_code=by_code,
        inclusions={k: _codes(v) for k, v in (conditions.get("inclusions") or {}).items()},
        exclusions={k: _codes(v) for k, v in (conditions.get("exclusions") or {}).items()},
    )


def analyte_for(coding: Any) -> str | None:
    """The analyte of a LOINC coding (a ``Coding`` dict, or a bare code string), else None."""
    if isinstance(coding, str):
        return value_sets().by_code.get(coding.strip())
    if not isinstance(coding, dict):
        return None
    code, system = coding.get("code"), coding.get("system") or ""
    if not isinstance(code, str) or not isinstance(system, str) or system not in _LOINC_SYSTEMS:
        return None
    return value_sets().by_code.get(code.strip())


def codes_of(analyte: str) -> frozenset[str]:
    """Every code of ``analyte`` (empty for an analyte the table does not list)."""
    return frozenset(c.code for c in value_sets().analytes.get(analyte, ()))


def condition_exclusions(kind: str) -> tuple[ValueSetCode, ...]:
    return value_sets().exclusions.get(kind, ())


def condition_inclusions(kind: str) -> tuple[ValueSetCode, ...]:
    return value_sets().inclusions.get(kind, ())
