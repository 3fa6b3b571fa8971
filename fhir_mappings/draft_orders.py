"""Reading ``context.draftOrders`` of order-select / order-sign, leniently.

Real CDS clients send drafts that are not strictly valid FHIR: the Bundle may lack ``type``,
MedicationRequests may lack ``intent``, the dose may only be written in text ("lenalidomide
25 mg PO daily d1-21"), and the drug may be coded (RxNorm ingredient or brand), text-only, or
behind a ``medicationReference`` to a contained Medication. This module turns each draft
MedicationRequest into a :class:`DraftOrder` the order checks can judge; anything it cannot
read is left ``None`` rather than guessed, and nothing here ever raises on malformed input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from fhir_mappings.index import ResourceIndex
from fhir_mappings.medication import medication_concepts
from fhir_mappings.terminology import Drug, DrugCatalog

Route = Literal["oral", "subcutaneous", "intravenous"]
PeriodUnit = Literal["h", "d", "wk"]

_VOID_STATUSES = frozenset({"entered-in-error", "cancelled"})
_HOURS_PER_UNIT: dict[str, float] = {"h": 1.0, "d": 24.0, "wk": 168.0}
# FHIR Timing period units we can compare; months/years are too coarse to check a dose rate.
_FHIR_PERIOD_UNITS: dict[str, PeriodUnit] = {"h": "h", "d": "d", "wk": "wk"}

_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
_DOSE_RE = re.compile(
    _NUMBER + r"\s*(mg\s*/\s*m(?:2|²|\^2)|mg\s*/\s*kg|mg|mcg|µg|ug|g)(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_UNIT_NORMAL: dict[str, tuple[str, float]] = {
    # written unit -> (UCUM unit, factor to that unit)
    "mg": ("mg", 1.0),
    "g": ("mg", 1000.0),
    "mcg": ("mg", 0.001),
    "µg": ("mg", 0.001),
    "ug": ("mg", 0.001),
    "mg/m2": ("mg/m2", 1.0),
    "mg/kg": ("mg/kg", 1.0),
}

# Route words, most specific first; matched on word boundaries in route text / dosage text.
_ROUTE_PATTERNS: tuple[tuple[Route, re.Pattern[str]], ...] = (
    ("subcutaneous", re.compile(r"\b(subcutaneous(ly)?|subcut|sub-?q|sc|sq)\b|\bs\.c\.", re.I)),
    ("intravenous", re.compile(r"\b(intravenous(ly)?|iv|infusion)\b|\bi\.v\.", re.I)),
    ("oral", re.compile(r"\b(oral(ly)?|by mouth|po|per os|tablets?|capsules?)\b|\bp\.o\.", re.I)),
)
# SNOMED CT route codes (and the common HL7 v2 / local abbreviations) -> route.
_ROUTE_CODES: dict[str, Route] = {
    "26643006": "oral",
    "po": "oral",
    "oral": "oral",
    "47625008": "intravenous",
    "iv": "intravenous",
    "34206005": "subcutaneous",
    "sc": "subcutaneous",
    "sq": "subcutaneous",
    "subq": "subcutaneous",
}

# Frequency phrases -> (administrations, period, unit); checked in order, first match wins.
_FREQUENCY_PATTERNS: tuple[tuple[re.Pattern[str], tuple[int, float, PeriodUnit]], ...] = (
    (re.compile(r"\bevery\s+other\s+day\b|\bq\s?48\s?h\b|\bqod\b", re.I), (1, 48.0, "h")),
    (re.compile(r"\b(twice|two times)\s+(a\s+|per\s+)?week(ly)?\b", re.I), (2, 1.0, "wk")),
    (re.compile(r"\b(three times|3 times)\s+(a\s+|per\s+)?da(il)?y\b|\bt\.?i\.?d\b|\bq\s?8\s?h\b", re.I),
     (3, 1.0, "d")),
    (re.compile(r"\b(twice|two times)\s+(a\s+|per\s+)?da(il)?y\b|\bb\.?i\.?d\b|\bq\s?12\s?h\b", re.I),
     (2, 1.0, "d")),
    (re.compile(r"\b(once\s+)?(a\s+|per\s+|every\s+)?week(ly)?\b|\bq\s?wk\b|\bqw\b", re.I), (1, 1.0, "wk")),
    (re.compile(r"\b(once\s+)?daily\b|\bevery\s+day\b|\b(once\s+)?a\s+day\b|\bq\.?d\b|\bq\s?24\s?h\b"
                r"|\bd(ays?)?\s*1\s*[-–]\s*\d+\b", re.I),
     (1, 1.0, "d")),
)
# "every 48 hours", "every 2 weeks", "q72h": an explicit interval wins over the phrases above.
_INTERVAL_RE = re.compile(
    r"\b(?:every|q)\s*(\d+(?:\.\d+)?)\s*(h|hrs?|hours?|d|days?|wks?|weeks?)\b", re.I
)
_INTERVAL_UNITS: dict[str, PeriodUnit] = {"h": "h", "d": "d", "w": "wk"}


@dataclass(frozen=True, slots=True)
class DraftDose:
    """The amount given per administration, in UCUM ``mg``, ``mg/m2`` or ``mg/kg``."""

    value: float
    unit: str
    source: Literal["structured", "text"]


@dataclass(frozen=True, slots=True)
class DraftTiming:
    """``frequency`` administrations per ``period`` ``period_unit`` (as FHIR Timing.repeat)."""

    frequency: int
    period: float
    period_unit: PeriodUnit
    source: Literal["structured", "text"]

    @property
    def per_day(self) -> float:
        """Administrations per day, so different ways of writing a schedule compare."""
        return self.frequency * 24.0 / (self.period * _HOURS_PER_UNIT[self.period_unit])


@dataclass(frozen=True, slots=True)
class DraftOrder:
    """One drafted MedicationRequest as the order checks see it.

    ``drugs`` are the recognised drugs (several for a combination product; empty for a drug
    ``drugs.json`` does not know). ``resource`` is the draft exactly as received, kept so a fix
    can ``update`` the whole draft (it is excluded from equality and hashing).
    """

    resource_id: str
    drugs: tuple[Drug, ...]
    medication_text: str
    dosage_text: str
    dose: DraftDose | None
    timing: DraftTiming | None
    route: Route | None
    resource: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def reference(self) -> str:
        return f"MedicationRequest/{self.resource_id}"

    @property
    def generics(self) -> tuple[str, ...]:
        return tuple(d.generic for d in self.drugs)

    def names(self, generic: str) -> bool:
        return generic in self.generics

    @property
    def label(self) -> str:
        """How a card names this draft: the generic names, else the draft's own text."""
        return ", ".join(self.generics) or self.medication_text or self.reference


def read_draft_orders(
    draft_orders: Any,
    catalog: DrugCatalog | None = None,
    index: ResourceIndex | None = None,
    patient_id: str | None = None,
) -> tuple[DraftOrder, ...]:
    """Every draft MedicationRequest in ``context.draftOrders`` (a Bundle, typed or not, a list,
    or a single resource), in order, de-duplicated by id. Skipped: other resource types
    (ServiceRequest drafts...), MedicationRequests without an id (a fix could not target them),
    entered-in-error / cancelled ones, and, when ``patient_id`` is given, drafts whose subject is
    another patient."""
    catalog = catalog or DrugCatalog.default()
    orders: dict[str, DraftOrder] = {}
    for resource in _resources(draft_orders):
        status = resource.get("status")
        if resource.get("resourceType") != "MedicationRequest" or (isinstance(status, str) and status in _VOID_STATUSES):
            continue
        rid = resource.get("id")
        if not isinstance(rid, str) or not rid.strip() or rid in orders:
            continue
        if patient_id is not None and not _for_patient(resource, patient_id):
            continue
        orders[rid] = read_draft_order(resource, catalog, index)
    return tuple(orders.values())


def drafted_service_codes(draft_orders: Any, patient_id: str | None = None) -> frozenset[tuple[str, str]]:
    """The (system, code) of every coding of the draft ServiceRequests in ``context.draftOrders``
    (a test drafted beside a drug counts as planned: an eye examination beside belantamab)."""
    codes: set[tuple[str, str]] = set()
    for resource in _resources(draft_orders):
        status = resource.get("status")
        if resource.get("resourceType") != "ServiceRequest" or (isinstance(status, str) and status in _VOID_STATUSES):
            continue
        if patient_id is not None and not _for_patient(resource, patient_id):
            continue
        code = resource.get("code")
        for coding in _items(code.get("coding")) if isinstance(code, dict) else []:
            if isinstance(coding, dict) and isinstance(coding.get("system"), str) and isinstance(coding.get("code"), str):
                codes.add((coding["system"], coding["code"]))
    return frozenset(codes)


def read_draft_order(
    resource: dict[str, Any], catalog: DrugCatalog, index: ResourceIndex | None = None
) -> DraftOrder:
    # The same reading as the medication history: coded, text, contained or referenced Medication.
    concepts = medication_concepts(resource, index)
    medication_texts = list(_medication_texts(concepts))
    drugs = _drugs(concepts, catalog)
    dosage = _first_dosage(resource)
    dosage_text = _text(dosage.get("text")) if dosage else ""
    all_text = " ".join(t for t in (dosage_text, _text(dosage.get("patientInstruction")) if dosage else "") if t)
    return DraftOrder(
        resource_id=str(resource.get("id")),
        drugs=drugs,
        medication_text=medication_texts[0] if medication_texts else "",
        dosage_text=dosage_text,
        dose=_structured_dose(dosage) or _text_dose(all_text) or _text_dose(" ".join(medication_texts)),
        timing=_structured_timing(dosage) or _text_timing(all_text) or _text_timing(" ".join(medication_texts)),
        route=_coded_route(dosage) or _text_route(all_text) or _text_route(" ".join(medication_texts)),
        resource=resource,
    )


def _for_patient(resource: dict[str, Any], patient_id: str) -> bool:
    """False only when the subject clearly names another Patient ("Patient/<other>")."""
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(reference, str):
        return True
    parts = [p for p in reference.split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return not (len(parts) >= 2 and parts[-2] == "Patient" and parts[-1] != patient_id)


# -- collecting resources ------------------------------------------------------------------------
def _resources(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [r for item in value for r in _resources(item)]
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        if not isinstance(entries, list):
            return []
        return [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    return [value]


# -- the drug ------------------------------------------------------------------------------------
def _drugs(concepts: list[Any], catalog: DrugCatalog) -> tuple[Drug, ...]:
    found: dict[str, Drug] = {}
    for concept in concepts:
        for drug in catalog.identify_concept(concept):
            found.setdefault(drug.generic, drug)
    return tuple(found.values())


def _medication_texts(concepts: list[Any]) -> Iterator[str]:
    for concept in concepts:
        text = _text(concept.get("text"))
        if text:
            yield text
        for coding in _items(concept.get("coding")):
            if isinstance(coding, dict) and _text(coding.get("display")):
                yield _text(coding.get("display"))


# -- dose, timing, route ---------------------------------------------------------------------------
def _first_dosage(resource: dict[str, Any]) -> dict[str, Any]:
    for dosage in _items(resource.get("dosageInstruction")):
        if isinstance(dosage, dict):
            return dosage
    return {}


def _structured_dose(dosage: dict[str, Any]) -> DraftDose | None:
    for rate in _items(dosage.get("doseAndRate")):
        if not isinstance(rate, dict):
            continue
        quantity = rate.get("doseQuantity")
        if not isinstance(quantity, dict):
            continue
        value = quantity.get("value")
        unit = quantity.get("code") or quantity.get("unit")
        if isinstance(value, bool) or not isinstance(value, int | float) or not isinstance(unit, str):
            continue
        normal = _normal_unit(unit)
        if normal is not None and value > 0:
            return DraftDose(value=float(value) * normal[1], unit=normal[0], source="structured")
    return None


def _text_dose(text: str) -> DraftDose | None:
    if not text:
        return None
    for match in _DOSE_RE.finditer(text):
        value = float(match.group(1).replace(",", ""))
        normal = _normal_unit(match.group(2))
        if normal is not None and value > 0:
            return DraftDose(value=value * normal[1], unit=normal[0], source="text")
    return None


def _normal_unit(unit: str) -> tuple[str, float] | None:
    key = re.sub(r"\s+", "", unit).lower().replace("²", "2").replace("^2", "2")
    return _UNIT_NORMAL.get(key)


def _structured_timing(dosage: dict[str, Any]) -> DraftTiming | None:
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, dict) else None
    if not isinstance(repeat, dict):
        return None
    frequency = repeat.get("frequency", 1)
    period = repeat.get("period")
    unit = _FHIR_PERIOD_UNITS.get(repeat.get("periodUnit")) if isinstance(repeat.get("periodUnit"), str) else None
    if (
        isinstance(frequency, bool) or not isinstance(frequency, int) or frequency <= 0
        or isinstance(period, bool) or not isinstance(period, int | float) or period <= 0
        or unit is None
    ):
        return None
    return DraftTiming(frequency=frequency, period=float(period), period_unit=unit, source="structured")


def _text_timing(text: str) -> DraftTiming | None:
    """The schedule written first in ``text`` ("weekly for 8 weeks, then every 2 weeks" is the
    starting schedule, weekly)."""
    if not text:
        return None
    candidates: list[tuple[int, DraftTiming]] = []
    for interval in _INTERVAL_RE.finditer(text):
        period = float(interval.group(1))
        if period > 0:
            unit = _INTERVAL_UNITS[interval.group(2)[0].lower()]
            candidates.append((interval.start(), DraftTiming(1, period, unit, "text")))
            break
    for pattern, (frequency, period, unit) in _FREQUENCY_PATTERNS:
        match = pattern.search(text)
        if match:
            candidates.append((match.start(), DraftTiming(frequency, period, unit, "text")))
    # Earliest position wins; on a tie the more specific pattern (listed first) wins.
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def _coded_route(dosage: dict[str, Any]) -> Route | None:
    route = dosage.get("route")
    if not isinstance(route, dict):
        return None
    for coding in _items(route.get("coding")):
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            found = _ROUTE_CODES.get(coding["code"].strip().lower())
            if found:
                return found
    texts = [_text(route.get("text"))]
    texts += [_text(c.get("display")) for c in _items(route.get("coding")) if isinstance(c, dict)]
    return _text_route(" ".join(t for t in texts if t))


def _text_route(text: str) -> Route | None:
    if not text:
        return None
    for route, pattern in _ROUTE_PATTERNS:
        if pattern.search(text):
            return route
    return None


def _items(value: Any) -> list[Any]:
    """A FHIR array as a list; anything else (a wrong type) as empty."""
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def unresolved_draft_medication_references(draft_orders: Any, index: ResourceIndex) -> set[str]:
    """``Medication/<id>`` references of draft orders (not contained) that ``index`` cannot resolve,
    for the HTTP layer to read from the FHIR server (drafts are not in the index, so
    ``ResourceIndex.unresolved_medication_references`` does not see them)."""
    missing: set[str] = set()
    for resource in _resources(draft_orders):
        if resource.get("resourceType") != "MedicationRequest":
            continue
        reference = resource.get("medicationReference")
        text = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(text, str) or not text or text.startswith("#") or index.resolve(text) is not None:
            continue
        parts = [p for p in text.split("/") if p]
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        if len(parts) >= 2 and parts[-2] == "Medication":
            missing.add(f"Medication/{parts[-1]}")
    return missing
