"""One medication-bearing resource -> the drugs it names and when they were taken (02 §2.2).

Reads MedicationStatement, MedicationRequest, MedicationAdministration and MedicationDispense
(and the R5 ``medication`` CodeableReference form). ``medicationReference`` is followed into
``contained`` or into the ``ResourceIndex``; a Medication's ``code`` and its ingredients all count,
so multi-ingredient products map to every drug they name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fhir_mappings.dates import parse_date, period_end, period_start
from fhir_mappings.facts import Evidence
from fhir_mappings.index import ResourceIndex, listed
from fhir_mappings.qualifiers import AFFIRMED_OR_PAST, affirmed_text
from fhir_mappings.terminology import Drug, DrugCatalog, concept_codings, concept_texts

MEDICATION_TYPES = ("MedicationStatement", "MedicationRequest", "MedicationAdministration", "MedicationDispense")
PROGRESSION_SNOMED = "271299001"
_ONGOING_STATUSES = frozenset({"active", "in-progress", "on-hold", "intended"})
_FINISHED_STATUSES = frozenset({"completed", "stopped", "cancelled", "not-done", "declined"})
# "Disease progression" is a stop for progression; "toxicity, no progression" is not.
_NEGATED_PROGRESS = re.compile(r"\b(?:no|not|without|non)[\s-]+(?:\w+\s+){0,3}?progress", re.IGNORECASE)
_PROGRESS_WORD = re.compile(r"progress", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MedicationRecord:
    """What one resource says: these drugs, from ``start`` to ``end`` (``end`` None = ongoing)."""

    resource_type: str
    resource_id: str
    drugs: tuple[Drug, ...]
    start: date
    end: date | None
    status: str | None
    stopped_for_progression: bool
    label: str  # the product as the EHR named it, e.g. "Revlimid 10 mg capsule"
    # When the source said so: dateAsserted of a statement, authoredOn of an order, the day of an
    # administration or dispense (medication-source reconciliation compares these).
    asserted: date | None = None
    supply_days: int | None = None  # an order's expected supply, all its fills (None: not given)
    reconciliation: str = ""  # why the reconciliation changed this record's end, shown as evidence

    def evidence(self, drug: Drug) -> Evidence:
        text = f"{drug.generic} ({self.resource_type}" + (f", {self.label})" if self.label else ")")
        if self.reconciliation:
            text += f"; {self.reconciliation}"
        return Evidence(self.resource_type, self.resource_id, self.start, text, self.label or drug.generic)


def _resolve(reference: Any, container: dict[str, Any], index: ResourceIndex | None) -> dict[str, Any] | None:
    if index is not None:
        return index.resolve(reference, container)
    text = reference.get("reference") if isinstance(reference, dict) else None
    if isinstance(text, str) and text.startswith("#"):
        for item in listed(container.get("contained")):
            if isinstance(item, dict) and item.get("id") == text[1:]:
                return item
    return None


def _medication_concepts(medication: dict[str, Any], container: dict[str, Any],
                         index: ResourceIndex | None) -> Iterator[Any]:
    yield medication.get("code")
    for ingredient in listed(medication.get("ingredient")):
        if not isinstance(ingredient, dict):
            continue
        yield ingredient.get("itemCodeableConcept")
        item = ingredient.get("item")  # R5: CodeableReference
        if isinstance(item, dict):
            yield item.get("concept")
        reference = ingredient.get("itemReference") or (item.get("reference") if isinstance(item, dict) else None)
        if isinstance(reference, dict):
            yield {"text": reference.get("display")}
            target = _resolve(reference, container, index)
            if isinstance(target, dict) and target.get("resourceType") in ("Medication", "Substance"):
                yield target.get("code")


def medication_concepts(resource: dict[str, Any], index: ResourceIndex | None = None) -> list[Any]:
    """Every CodeableConcept that names what this resource gives (direct, referenced, contained)."""
    concepts: list[Any] = [resource.get("medicationCodeableConcept")]
    references: list[Any] = [resource.get("medicationReference")]
    r5 = resource.get("medication")
    if isinstance(r5, dict):  # R5 CodeableReference
        concepts.append(r5.get("concept"))
        references.append(r5.get("reference"))
    for reference in references:
        if not isinstance(reference, dict):
            continue
        concepts.append({"text": reference.get("display")})
        target = _resolve(reference, resource, index)
        if isinstance(target, dict):
            concepts.extend(_medication_concepts(target, resource, index))
    return [c for c in concepts if isinstance(c, dict)]


def drugs_in_resource(resource: Any, index: ResourceIndex | None = None,
                      catalog: DrugCatalog | None = None, *, concepts: list[Any] | None = None) -> tuple[Drug, ...]:
    """The recognised drugs one medication resource names (empty for unknown drugs).
    ``concepts``: its :func:`medication_concepts`, when the caller already has them."""
    if not isinstance(resource, dict):
        return ()
    catalog = catalog or DrugCatalog.default()
    found: dict[str, Drug] = {}
    for concept in medication_concepts(resource, index) if concepts is None else concepts:
        for drug in catalog.identify_concept(concept):
            found.setdefault(drug.generic, drug)
    return tuple(found.values())


def _label(resource: dict[str, Any], index: ResourceIndex | None, concepts: list[Any] | None = None) -> str:
    for concept in medication_concepts(resource, index) if concepts is None else concepts:
        for text in concept_texts(concept):
            return text[:80]
    return ""


def _dosage_bounds(resource: dict[str, Any]) -> Iterator[Any]:
    for dosage in listed(resource.get("dosageInstruction")):
        if isinstance(dosage, dict):
            timing = dosage.get("timing")
            repeat = timing.get("repeat") if isinstance(timing, dict) else None
            if isinstance(repeat, dict):
                yield repeat.get("boundsPeriod")


def _validity(resource: dict[str, Any]) -> Any:
    request = resource.get("dispenseRequest")
    return request.get("validityPeriod") if isinstance(request, dict) else None


def record_start(resource: dict[str, Any]) -> date | None:
    """02 §2.2 start: effectivePeriod.start | effectiveDateTime | boundsPeriod.start |
    validityPeriod.start | authoredOn | whenHandedOver."""
    # Lazily, in priority order: one record per dose makes this a hot path.
    return next((c for c in _start_candidates(resource) if c is not None), None)


def _start_candidates(resource: dict[str, Any]) -> Iterator[date | None]:
    yield period_start(resource.get("effectivePeriod"))
    yield parse_date(resource.get("effectiveDateTime"))
    for bounds in _dosage_bounds(resource):
        yield period_start(bounds)
    yield period_start(_validity(resource))
    yield parse_date(resource.get("authoredOn"))
    yield parse_date(resource.get("whenHandedOver"))
    yield parse_date(resource.get("whenPrepared"))
    # R5 MedicationAdministration spells it "occurence[x]"; a bare statement that
    # only says when it was asserted still tells us the drug was taken by then.
    yield parse_date(resource.get("occurenceDateTime"))
    yield period_start(resource.get("occurencePeriod"))
    yield parse_date(resource.get("dateAsserted"))


def _days_supply(resource: dict[str, Any]) -> int | None:
    supply = resource.get("daysSupply")
    value = supply.get("value") if isinstance(supply, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 10_000:
        return int(value)
    return None


def record_end(resource: dict[str, Any], start: date) -> date | None:
    """02 §2.2 end; None means ongoing (the caller turns that into the evaluation date)."""
    # Most records (one per dose) carry none of the end fields: skip looking for one then.
    explicit = None if _END_FIELDS.isdisjoint(resource) else next(
        (c for c in _end_candidates(resource) if c is not None), None)
    if explicit is not None:
        return max(explicit, start)
    status = resource.get("status")
    if isinstance(status, str) and status in _ONGOING_STATUSES:
        return None
    asserted = parse_date(resource.get("dateAsserted"))
    # Finished (or unknown status): a point in time, unless the statement was asserted later.
    if asserted and asserted > start and status in _FINISHED_STATUSES:
        return asserted
    return start


# Every field _end_candidates reads (a handed-over date only counts together with daysSupply).
_END_FIELDS = frozenset({"effectivePeriod", "occurencePeriod", "dosageInstruction", "dispenseRequest", "daysSupply"})


def _end_candidates(resource: dict[str, Any]) -> Iterator[date | None]:
    """Explicit ends in priority order, computed lazily (the first one found wins)."""
    yield period_end(resource.get("effectivePeriod"))
    yield period_end(resource.get("occurencePeriod"))
    for bounds in _dosage_bounds(resource):
        yield period_end(bounds)
    yield period_end(_validity(resource))
    handed_over = parse_date(resource.get("whenHandedOver"))
    supply = _days_supply(resource)
    if handed_over and supply is not None and handed_over < date.max - timedelta(days=supply):
        yield handed_over + timedelta(days=supply)


_SUPPLY_UNIT_DAYS = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "mo": 30, "month": 30, "months": 30}


def expected_supply_days(resource: dict[str, Any]) -> int | None:
    """An order's ``dispenseRequest.expectedSupplyDuration`` times its fills (1 + repeats)."""
    request = resource.get("dispenseRequest")
    duration = request.get("expectedSupplyDuration") if isinstance(request, dict) else None
    if not isinstance(duration, dict):
        return None
    value = duration.get("value")
    unit = duration.get("code") or duration.get("unit") or "d"
    factor = _SUPPLY_UNIT_DAYS.get(unit.strip().lower()) if isinstance(unit, str) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or factor is None or not 0 < value < 10_000:
        return None
    repeats = request.get("numberOfRepeatsAllowed")
    fills = 1 + (repeats if isinstance(repeats, int) and not isinstance(repeats, bool) and 0 <= repeats < 100 else 0)
    return int(value * factor * fills)


def _asserted(resource: dict[str, Any], start: date) -> date:
    rtype = resource.get("resourceType")
    if rtype in ("MedicationStatement", "MedicationUsage"):
        return parse_date(resource.get("dateAsserted")) or start
    if rtype == "MedicationRequest":
        return parse_date(resource.get("authoredOn")) or start
    if rtype == "MedicationDispense":
        return parse_date(resource.get("whenHandedOver")) or start
    return start


def stopped_for_progression(resource: dict[str, Any]) -> bool:
    """``statusReason`` says the drug was stopped for progression (SNOMED or text)."""
    reasons = resource.get("statusReason")
    if reasons is None:  # the usual case: nothing to read
        return False
    concepts = reasons if isinstance(reasons, list) else [reasons]
    for concept in concepts:
        if any(code == PROGRESSION_SNOMED for _system, code in concept_codings(concept)):
            return True
        texts = [t for t in concept_texts(concept) if "progress" in t.lower() and not _NEGATED_PROGRESS.search(t)]
        if texts and affirmed_text(_PROGRESS_WORD, texts, AFFIRMED_OR_PAST) is not None:
            return True
    return False


def read_medication_record(resource: Any, index: ResourceIndex | None = None,
                           catalog: DrugCatalog | None = None) -> MedicationRecord | None:
    """The record of one medication resource, or None when it names no known drug or no date."""
    if not isinstance(resource, dict):
        return None
    rtype = resource.get("resourceType")
    if rtype not in MEDICATION_TYPES and rtype != "MedicationUsage":  # R5 renamed the Statement
        return None
    drugs = drugs_in_resource(resource, index, catalog)
    if not drugs:
        return None
    return record_from(resource, drugs, index)


def record_from(resource: dict[str, Any], drugs: tuple[Drug, ...],
                index: ResourceIndex | None = None, *, concepts: list[Any] | None = None) -> MedicationRecord | None:
    """The record of a resource whose drugs are already known; None when it has no date.
    ``concepts``: its :func:`medication_concepts`, when the caller already has them."""
    start = record_start(resource)
    if start is None:
        return None
    rid = resource.get("id")
    status = resource.get("status")
    return MedicationRecord(
        resource_type=str(resource.get("resourceType")),
        resource_id=rid if isinstance(rid, str) else "",
        drugs=drugs,
        start=start,
        end=record_end(resource, start),
        status=status if isinstance(status, str) else None,
        stopped_for_progression=stopped_for_progression(resource),
        label=_label(resource, index, concepts),
        asserted=_asserted(resource, start),
        supply_days=expected_supply_days(resource) if resource.get("resourceType") == "MedicationRequest" else None,
    )
