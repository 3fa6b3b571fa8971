"""Medication records -> merged drug exposures (02 §2.2).

Records of one drug from any resource type whose intervals overlap or lie <= 60 days apart are
one exposure: per-dose administrations, refills and the same therapy recorded as both a
Statement and a Request collapse into a single interval. Sorting once per drug keeps this
O(n log n).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from fhir_mappings.facts import DrugExposure, Evidence
from fhir_mappings.index import ResourceIndex
from fhir_mappings.medication import (
    MEDICATION_TYPES,
    MedicationRecord,
    drugs_in_resource,
    read_medication_record,
    record_start,
)
from fhir_mappings.terminology import Drug, DrugCatalog

MERGE_GAP = timedelta(days=60)


def read_records(index: ResourceIndex, evaluation_date: date, catalog: DrugCatalog) -> list[MedicationRecord]:
    """Every dated medication record of a known drug that started by the evaluation date."""
    records: list[MedicationRecord] = []
    for rtype in (*MEDICATION_TYPES, "MedicationUsage"):
        for resource in index.of_type(rtype):
            record = read_medication_record(resource, index, catalog)
            if record is not None and record.start <= evaluation_date:
                records.append(record)
    return records


def undated_antimyeloma_records(index: ResourceIndex, catalog: DrugCatalog) -> int:
    """Anti-myeloma records with no usable date: they cannot be placed in a line of therapy."""
    count = 0
    for rtype in (*MEDICATION_TYPES, "MedicationUsage"):
        for resource in index.of_type(rtype):
            if record_start(resource) is None and any(
                d.is_antimyeloma for d in drugs_in_resource(resource, index, catalog)
            ):
                count += 1
    return count


def merge_exposures(records: list[MedicationRecord], evaluation_date: date) -> tuple[DrugExposure, ...]:
    """One exposure per run of records of a drug, sorted by start then drug name."""
    per_drug: dict[str, list[tuple[date, date, bool, MedicationRecord]]] = defaultdict(list)
    drugs: dict[str, Drug] = {}
    for record in records:
        ongoing = record.end is None or record.end >= evaluation_date
        end = evaluation_date if ongoing else record.end
        assert end is not None
        for drug in record.drugs:
            drugs[drug.generic] = drug
            per_drug[drug.generic].append((record.start, end, ongoing and record.end is None, record))
    exposures: list[DrugExposure] = []
    for generic, items in per_drug.items():
        items.sort(key=lambda item: (item[0], item[1]))
        group: list[tuple[date, date, bool, MedicationRecord]] = []
        group_end = date.min
        for item in items:
            if group and item[0] > group_end + MERGE_GAP:
                exposures.append(_exposure(drugs[generic], group, evaluation_date))
                group = []
            group.append(item)
            group_end = max(group_end, item[1]) if len(group) > 1 else item[1]
        if group:
            exposures.append(_exposure(drugs[generic], group, evaluation_date))
    exposures.sort(key=lambda e: (e.start, e.drug))
    return tuple(exposures)


def _exposure(drug: Drug, group: list[tuple[date, date, bool, MedicationRecord]], evaluation_date: date) -> DrugExposure:
    start = min(item[0] for item in group)
    end = max(item[1] for item in group)
    # Ongoing: a record still open now (status active without an end) or running past today.
    ongoing = any(item[2] for item in group) or end >= evaluation_date
    evidence: dict[tuple[str, str], Evidence] = {}
    for item in group:
        record = item[3]
        evidence.setdefault((record.resource_type, record.resource_id), record.evidence(drug))
    # A stop for progression counts only when it ended the exposure, not when the drug carried
    # on afterwards (e.g. a stop recorded and the same therapy resumed within 60 days).
    stopped = any(item[3].stopped_for_progression for item in group) and not ongoing
    return DrugExposure(
        drug=drug.generic,
        classes=drug.classes,
        role=drug.role,
        start=start,
        end=evaluation_date if ongoing else end,
        ongoing=ongoing,
        stopped_for_progression=stopped,
        evidence=tuple(evidence.values()),
    )
