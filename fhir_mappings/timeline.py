"""What the relapse timeline draws beyond the facts: the laboratory series the derivations read,
each line's drug exposures and each line's nadirs (no Flask, no clock).

The series are read with the same ``ObservationReader`` and unit conversions as ``build_facts``
(so a value the rules ignored is not drawn either); the exposures of a line are the merged
exposures ``build_lines`` grouped into it, matched by drug and date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fhir_mappings.facts import DrugExposure, Measurement, PatientFacts, TherapyLine
from fhir_mappings.index import ResourceIndex
from fhir_mappings.observations import (
    CREATININE,
    CREATININE_CLEARANCE,
    EGFR,
    FLC_KAPPA,
    FLC_LAMBDA,
    SERUM_M_PROTEIN,
    URINE_M_PROTEIN,
    WEIGHT,
    ObservationReader,
)
from fhir_mappings.progression import Point, flc_points
from fhir_mappings.terminology import Codes

# Series name -> the observation kind (final values only for the IMWG analytes, as the rules read them).
SERIES_KINDS = {
    "serumMProtein": (SERUM_M_PROTEIN, True),
    "urineMProtein": (URINE_M_PROTEIN, True),
    "flcKappa": (FLC_KAPPA, True),
    "flcLambda": (FLC_LAMBDA, True),
    "creatinine": (CREATININE, False),
    "egfr": (EGFR, False),
    "measuredCrcl": (CREATININE_CLEARANCE, False),
    "weight": (WEIGHT, False),
}


@dataclass(frozen=True, slots=True)
class TimelineSeries:
    measurements: dict[str, list[Measurement]]
    flc_difference: list[Point]  # involved minus uninvolved, per day with both chains


@dataclass(frozen=True, slots=True)
class LineExposures:
    line: TherapyLine
    end: date  # exclusive: the next line's start, or the day after the evaluation date
    exposures: tuple[DrugExposure, ...]


@dataclass(frozen=True, slots=True)
class Nadir:
    line_number: int
    series: str  # a SERIES_KINDS name or "flcDifference"
    point: Point


def read_series(index: ResourceIndex, evaluation_date: date, codes: Codes | None = None) -> TimelineSeries:
    reader = ObservationReader(index, evaluation_date, codes)
    measurements = {name: reader.measurements(kind, final_only=final) for name, (kind, final) in SERIES_KINDS.items()}
    return TimelineSeries(measurements, flc_points(measurements["flcKappa"], measurements["flcLambda"]))


def line_exposures(facts: PatientFacts) -> list[LineExposures]:
    """Each line with the exposures of its drugs that started in it (the first line also takes
    those that started before it, e.g. a record whose first exposure predates the line start)."""
    lines = sorted(facts.lines, key=lambda line: line.number)
    grouped: list[LineExposures] = []
    for position, line in enumerate(lines):
        # The last line runs to the evaluation date, inclusive.
        end = lines[position + 1].start if position + 1 < len(lines) else facts.evaluation_date + timedelta(days=1)
        members = tuple(
            exposure for exposure in facts.exposures
            if exposure.drug in line.drugs and (exposure.start >= line.start or position == 0) and exposure.start < end
        )
        grouped.append(LineExposures(line, end, members))
    return grouped


def line_nadirs(series: TimelineSeries, lines: list[LineExposures]) -> list[Nadir]:
    """The lowest value of each response series within each line (ties: the earliest)."""
    candidates: dict[str, list[Point]] = {
        name: [Point(m.date, m.value, (m.evidence,)) for m in series.measurements[name]]
        for name in ("serumMProtein", "urineMProtein")
    }
    candidates["flcDifference"] = series.flc_difference
    nadirs: list[Nadir] = []
    for group in lines:
        for name, points in candidates.items():
            inside = [p for p in points if group.line.start <= p.date < group.end]
            if inside:
                nadirs.append(Nadir(group.line.number, name, min(inside, key=lambda p: (p.value, p.date))))
    return nadirs
