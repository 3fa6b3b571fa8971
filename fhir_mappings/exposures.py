"""Medication records -> merged drug exposures (02 §2.2).

Records of one drug from any resource type whose intervals overlap or lie <= 60 days apart are
one exposure: per-dose administrations, refills and the same therapy recorded as both a
Statement and a Request collapse into a single interval. Sorting once per drug keeps this
O(n log n).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from fhir_mappings.facts import DrugExposure, Evidence
from fhir_mappings.index import ResourceIndex
from fhir_mappings.medication import (
    MEDICATION_TYPES,
    MedicationRecord,
    drugs_in_resource,
    medication_concepts,
    record_from,
)
from fhir_mappings.parameters import DEFAULT_PARAMETERS, DerivationParameters
from fhir_mappings.terminology import Drug, DrugCatalog


@dataclass(frozen=True, slots=True)
class MedicationHistory:
    """What the medication resources say, from one pass over them."""

    records: list[MedicationRecord]  # dated records of known drugs started by the evaluation date
    undated_antimyeloma: int  # anti-myeloma records without any usable date (cannot be placed)


def read_history(index: ResourceIndex, evaluation_date: date, catalog: DrugCatalog) -> MedicationHistory:
    """Read every medication resource once: its drugs are identified a single time and the
    record is either kept (dated, started by the evaluation date) or counted as undated."""
    records: list[MedicationRecord] = []
    undated = 0
    for rtype in (*MEDICATION_TYPES, "MedicationUsage"):
        for resource in index.of_type(rtype):
            # What the resource names is read once, for its drugs and for its label.
            concepts = medication_concepts(resource, index)
            drugs = drugs_in_resource(resource, index, catalog, concepts=concepts)
            if not drugs:
                continue
            record = record_from(resource, drugs, index, concepts=concepts)
            if record is None:
                undated += any(drug.is_antimyeloma for drug in drugs)
            elif record.start <= evaluation_date:
                records.append(record)
    return MedicationHistory(records, undated)


def read_records(index: ResourceIndex, evaluation_date: date, catalog: DrugCatalog) -> list[MedicationRecord]:
    """Every dated medication record of a known drug that started by the evaluation date."""
    return read_history(index, evaluation_date, catalog).records


class _Span(NamedTuple):
    """One record's interval for one drug, clipped to the evaluation date."""

    start: date
    end: date
    still_open: bool  # the record itself has no end (status active / in-progress / on-hold)
    record: MedicationRecord


def merge_exposures(records: list[MedicationRecord], evaluation_date: date,
                    params: DerivationParameters = DEFAULT_PARAMETERS) -> tuple[DrugExposure, ...]:
    """One exposure per run of records of a drug, sorted by start then drug name."""
    merge_gap = params.days("exposure_merge_gap_days")
    per_drug: dict[str, list[_Span]] = defaultdict(list)
    drugs: dict[str, Drug] = {}
    for record in records:
        end = evaluation_date if record.end is None else min(record.end, evaluation_date)
        for drug in record.drugs:
            drugs[drug.generic] = drug
            per_drug[drug.generic].append(_Span(record.start, end, record.end is None, record))
    exposures: list[DrugExposure] = []
    for generic, spans in per_drug.items():
        spans.sort(key=lambda span: (span.start, span.end))
        group: list[_Span] = []
        group_end = date.min
        for span in spans:
            if group and span.start > group_end + merge_gap:
                exposures.append(_exposure(drugs[generic], group, evaluation_date))
                group = []
            group_end = max(group_end, span.end) if group else span.end
            group.append(span)
        if group:
            exposures.append(_exposure(drugs[generic], group, evaluation_date))
    exposures.sort(key=lambda e: (e.start, e.drug))
    return tuple(exposures)


def _exposure(drug: Drug, group: list[_Span], evaluation_date: date) -> DrugExposure:
    start = min(span.start for span in group)
    end = max(span.end for span in group)
    # Ongoing: a record still open now (status active without an end) or running up to today.
    ongoing = any(span.still_open for span in group) or end >= evaluation_date
    evidence: dict[tuple[str, str], Evidence] = {}
    # A record whose end the source reconciliation decided comes first: cards show the first sources.
    for span in sorted(group, key=lambda s: not s.record.reconciliation):
        evidence.setdefault((span.record.resource_type, span.record.resource_id), span.record.evidence(drug))
    # A stop for progression counts only when it ended the exposure, not when the drug carried
    # on afterwards (e.g. a stop recorded and the same therapy resumed within 60 days).
    stopped = any(span.record.stopped_for_progression for span in group) and not ongoing
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
