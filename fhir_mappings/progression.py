"""Dated progression events (02 §2.4) and the single unconfirmed rise ("possible progression").

Sources: clinician-recorded disease status, IMWG progression computed from serial serum / urine
M-protein or free light chains, ICD "in relapse" codes and clinicalStatus relapse on a myeloma
Condition, and anti-myeloma drugs stopped for progression. Events within 30 days of the previous
one merge (chained) into one event dated by the earliest member.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from fhir_mappings import conditions
from fhir_mappings.dates import effective_date, parse_date, period_start
from fhir_mappings.facts import Evidence, Measurement, PossibleProgression, ProgressionEvent, ProgressionKind
from fhir_mappings.index import ResourceIndex
from fhir_mappings.medication import PROGRESSION_SNOMED, MedicationRecord
from fhir_mappings.observations import (
    FLC_KAPPA,
    FLC_LAMBDA,
    SERUM_M_PROTEIN,
    URINE_M_PROTEIN,
    ObservationReader,
    format_number,
)
from fhir_mappings.parameters import DEFAULT_PARAMETERS, DerivationParameters
from fhir_mappings.qualifiers import AFFIRMED_OR_PAST, affirmed_text
from fhir_mappings.terminology import Codes, concept_codings, concept_texts

_PROGRESS_TEXT = re.compile(r"progress|worsen", re.IGNORECASE)
# "no progression", "not worsening", "no evidence of progression", "without signs of disease progression"
_NEGATED_PROGRESS = re.compile(r"\b(?:no|not|without|non)[\s-]+(?:\w+\s+){0,3}?(?:progress|worsen)", re.IGNORECASE)
Analyte = Literal["serum-m-protein", "urine-m-protein", "flc"]


@dataclass(frozen=True, slots=True)
class RawEvent:
    date: date
    kind: ProgressionKind
    description: str
    evidence: tuple[Evidence, ...]


# -- clinician-recorded and coded events -----------------------------------------------------------
def _says_progression(concept: Any, text: Any = None) -> bool:
    if any(code == PROGRESSION_SNOMED for _system, code in concept_codings(concept)):
        return True
    texts = [*concept_texts(concept), *([text] if isinstance(text, str) else [])]
    return affirmed_text(_PROGRESS_TEXT, (t for t in texts if not _NEGATED_PROGRESS.search(t)),
                         AFFIRMED_OR_PAST) is not None


def disease_status_events(reader: ObservationReader, evaluation_date: date) -> list[RawEvent]:
    events: list[RawEvent] = []
    for obs in reader.resources("disease_status"):
        when = effective_date(obs)
        if when is None or when > evaluation_date:
            continue
        if _says_progression(obs.get("valueCodeableConcept"), obs.get("valueString")):
            evidence = Evidence("Observation", _id(obs), when, "disease status: progression (clinician-recorded)",
                                "worsened")
            events.append(RawEvent(when, "disease-status", "clinician-recorded disease progression", (evidence,)))
    return events


def _id(resource: dict[str, Any]) -> str:
    rid = resource.get("id")
    return rid if isinstance(rid, str) else ""


def condition_events(index: ResourceIndex, codes: Codes, evaluation_date: date) -> list[RawEvent]:
    """ICD "in relapse" codes (onset, else recorded date) and clinicalStatus relapse on a myeloma
    Condition (recorded date only: its onset is usually the diagnosis date)."""
    myeloma = codes.condition("multiple_myeloma")
    events: list[RawEvent] = []
    for condition in index.of_type("Condition"):
        concept = condition.get("code")
        recorded = parse_date(condition.get("recordedDate"))
        code = codes.in_relapse_code(concept)
        if code is not None:
            when = parse_date(condition.get("onsetDateTime")) or period_start(condition.get("onsetPeriod")) or recorded
            if when and when <= evaluation_date:
                evidence = Evidence("Condition", _id(condition), when, f"relapse diagnosis {code}", code)
                events.append(RawEvent(when, "icd-relapse", f"relapse coded {code}", (evidence,)))
            continue
        status_codes = {code for _system, code in concept_codings(condition.get("clinicalStatus"))}
        if "relapse" in status_codes and conditions.matches(myeloma, concept) and recorded and recorded <= evaluation_date:
            evidence = Evidence("Condition", _id(condition), recorded, "myeloma clinical status: relapse", "relapse")
            events.append(RawEvent(recorded, "clinical-status-relapse", "myeloma recorded as relapsed", (evidence,)))
    return events


def stop_reason_events(records: Iterable[MedicationRecord], evaluation_date: date) -> list[RawEvent]:
    """An anti-myeloma drug (never a steroid) stopped for progression: dated at the record's end."""
    events: list[RawEvent] = []
    for record in records:
        if not record.stopped_for_progression:
            continue
        for drug in record.drugs:
            if not drug.is_antimyeloma:
                continue
            when = record.end or record.start
            if when > evaluation_date:
                continue
            evidence = Evidence(record.resource_type, record.resource_id, when,
                                f"{drug.generic} stopped for disease progression", "progression")
            events.append(RawEvent(when, "stop-reason", f"{drug.generic} stopped for progression", (evidence,)))
    return events


# -- IMWG laboratory progression -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Point:
    date: date
    value: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class _Criteria:
    """IMWG's increase-over-nadir criteria per analyte, from the derivation parameters."""

    params: DerivationParameters

    def serum(self, value: float, nadir: float) -> bool:
        p = self.params
        increase = value - nadir
        minimum = p.serum_high_nadir_min_increase_g_dl if nadir >= p.serum_high_nadir_g_dl else p.serum_min_increase_g_dl
        return increase >= p.imwg_min_relative_increase * nadir - 1e-9 and increase >= minimum - 1e-9

    def urine(self, value: float, nadir: float) -> bool:
        increase = value - nadir
        return (increase >= self.params.imwg_min_relative_increase * nadir - 1e-9
                and increase >= self.params.urine_min_increase_mg_24h - 1e-9)

    def flc(self, value: float, nadir: float) -> bool:
        increase = value - nadir
        return (increase >= self.params.imwg_min_relative_increase * nadir - 1e-9
                and increase > self.params.flc_min_increase_mg_l)


@dataclass(frozen=True, slots=True)
class Analysis:
    events: list[RawEvent]
    pending: PossibleProgression | None  # the last value qualifies, its confirmation is not in yet


def analyse_series(points: list[Point], qualifies: Callable[[float, float], bool], resets: list[date],
                   analyte: Analyte, kind: ProgressionKind, label: str, unit: str) -> Analysis:
    """IMWG on one analyte: a value qualifies against the nadir (lowest since the previous
    progression); two consecutive qualifying values confirm an event dated at the first."""
    events: list[RawEvent] = []
    reset_dates = sorted(resets)
    next_reset = 0
    nadir: Point | None = None
    pending: Point | None = None
    deferred_reset = False  # a reset that arrived while a rise was under way
    for point in points:
        while next_reset < len(reset_dates) and reset_dates[next_reset] <= point.date:
            # A progression from another source: the nadir restarts from values on/after it,
            # unless a rise is already under way: then that event is the same progression and
            # the rise is still judged against the old nadir (the reset waits for its outcome).
            if pending is None:
                nadir = None
            else:
                deferred_reset = True
            next_reset += 1
        if deferred_reset and pending is not None and not (nadir is not None and qualifies(point.value, nadir.value)):
            # The rise was not confirmed: the other source's progression still restarts the
            # nadir, from this value on (the old pre-progression low no longer counts).
            nadir, pending, deferred_reset = None, None, False
        if nadir is not None and qualifies(point.value, nadir.value):
            if pending is None:
                pending = point
                continue
            description = (f"{label} {format_number(pending.value)} {unit} from nadir "
                           f"{format_number(nadir.value)} {unit}, confirmed {point.date.isoformat()}")
            events.append(RawEvent(pending.date, kind, description,
                                   pending.evidence + point.evidence + nadir.evidence))
            nadir = pending if pending.value <= point.value else point
            pending, deferred_reset = None, False
            continue
        pending = None
        if nadir is None or point.value < nadir.value:
            nadir = point
    possible = None
    if pending is not None and nadir is not None:
        description = (f"{label} {format_number(pending.value)} {unit} from nadir "
                       f"{format_number(nadir.value)} {unit}: repeat to confirm progression")
        possible = PossibleProgression(pending.date, analyte, description, pending.evidence + nadir.evidence)
    return Analysis(events, possible)


def _points(measurements: list[Measurement]) -> list[Point]:
    """One point per day. Values of one day reported twice (across feeds, or g/L next to g/dL
    with rounding) are one assessment, not a confirmation of each other: the day's last value
    counts, as for free light chains."""
    by_day: dict[date, Measurement] = {}
    for m in measurements:  # sorted by date; later duplicates of a day replace earlier ones
        by_day[m.date] = m
    return [Point(m.date, m.value, (m.evidence,)) for m in by_day.values()]


def flc_points(kappa: list[Measurement], lambda_: list[Measurement]) -> list[Point]:
    """Involved-minus-uninvolved FLC per day with both chains; involved = higher at baseline."""
    lambdas: dict[date, Measurement] = {}
    for m in lambda_:
        lambdas[m.date] = m  # latest of the day wins
    pairs = [(k, lambdas[k.date]) for k in {m.date: m for m in kappa}.values() if k.date in lambdas]
    pairs.sort(key=lambda pair: pair[0].date)
    if not pairs:
        return []
    kappa_involved = pairs[0][0].value >= pairs[0][1].value
    points: list[Point] = []
    for k, lam in pairs:
        difference = k.value - lam.value if kappa_involved else lam.value - k.value
        points.append(Point(k.date, difference, (k.evidence, lam.evidence)))
    return points


@dataclass(frozen=True, slots=True)
class _Series:
    points: list[Point]
    qualifies: Callable[[float, float], bool]
    analyte: Analyte
    kind: ProgressionKind
    label: str
    unit: str

    def analyse(self, resets: list[date]) -> Analysis:
        return analyse_series(self.points, self.qualifies, resets, self.analyte, self.kind, self.label, self.unit)


# Passes of the cross-analyte nadir reset: each pass can only add resets from the others' events;
# a progression found on one analyte rarely moves another's, so two or three passes settle it.
_RESET_PASSES = 3


def lab_analyses(reader: ObservationReader, resets: list[date],
                 params: DerivationParameters = DEFAULT_PARAMETERS) -> list[Analysis]:
    """IMWG on every analyte. The nadir is the lowest value since the previous progression event
    of *any* source, so one analyte's confirmed progression also restarts the others' nadirs."""
    serum = _points(reader.measurements(SERUM_M_PROTEIN, final_only=True))
    urine = _points(reader.measurements(URINE_M_PROTEIN, final_only=True))
    criteria = _Criteria(params)
    series = [
        _Series(serum, criteria.serum, "serum-m-protein", "imwg-serum", "serum M-protein", "g/dL"),
        _Series(urine, criteria.urine, "urine-m-protein", "imwg-urine", "urine M-protein", "mg/24 h"),
    ]
    not_measurable = (all(p.value < params.serum_measurable_g_dl for p in serum)
                      and all(p.value < params.urine_measurable_mg_24h for p in urine))
    if not_measurable:
        flc = flc_points(reader.measurements(FLC_KAPPA, final_only=True),
                         reader.measurements(FLC_LAMBDA, final_only=True))
        series.append(_Series(flc, criteria.flc, "flc", "imwg-flc", "involved-uninvolved FLC", "mg/L"))
    analyses = [s.analyse(resets) for s in series]
    for _ in range(_RESET_PASSES):
        # An analyte's own events already restart its nadir inside analyse_series: only the
        # other analytes' events are added as resets.
        updated = [s.analyse([*resets, *(e.date for j, a in enumerate(analyses) if j != i for e in a.events)])
                   for i, s in enumerate(series)]
        if [[e.date for e in a.events] for a in updated] == [[e.date for e in a.events] for a in analyses]:
            return updated
        analyses = updated
    return analyses


# -- merging ---------------------------------------------------------------------------------------
def merge_events(raw: Iterable[RawEvent], window: timedelta | None = None) -> tuple[ProgressionEvent, ...]:
    """Chain events within ``window`` (the parameters' 30 days) of the previous one; date = earliest member."""
    window = window if window is not None else DEFAULT_PARAMETERS.days("event_merge_window_days")
    ordered = sorted(raw, key=lambda e: (e.date, e.kind))
    groups: list[list[RawEvent]] = []
    for event in ordered:
        if groups and event.date - groups[-1][-1].date <= window:
            groups[-1].append(event)
        else:
            groups.append([event])
    return tuple(_merged(group) for group in groups)


def _merged(group: list[RawEvent]) -> ProgressionEvent:
    kinds: dict[ProgressionKind, None] = {}
    descriptions: dict[str, None] = {}
    evidence: dict[tuple[str, str, date | None, str], Evidence] = {}
    for event in group:
        kinds.setdefault(event.kind)
        descriptions.setdefault(event.description)
        for item in event.evidence:
            evidence.setdefault((item.resource_type, item.resource_id, item.date, item.text), item)
    return ProgressionEvent(group[0].date, tuple(kinds), "; ".join(descriptions), tuple(evidence.values()))


def derive_progression(index: ResourceIndex, reader: ObservationReader, records: list[MedicationRecord],
                       codes: Codes, evaluation_date: date, params: DerivationParameters = DEFAULT_PARAMETERS
                       ) -> tuple[tuple[ProgressionEvent, ...], PossibleProgression | None]:
    window = params.days("event_merge_window_days")
    clinical = [
        *disease_status_events(reader, evaluation_date),
        *condition_events(index, codes, evaluation_date),
        *stop_reason_events(records, evaluation_date),
    ]
    analyses = lab_analyses(reader, [e.date for e in clinical], params)
    events = merge_events([*clinical, *(e for a in analyses for e in a.events)], window)
    latest = events[-1].date if events else None
    candidates = [a.pending for a in analyses if a.pending is not None]
    # A single rise already covered by a progression event (within the merge window) is not a gap.
    open_rises = [p for p in candidates if latest is None or p.date > latest + window]
    possible = max(open_rises, key=lambda p: p.date) if open_rises else None
    return events, possible
