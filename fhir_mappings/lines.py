"""Lines of therapy (02 §2.5): anti-myeloma exposures grouped into lines, ASCT included.

Walk the exposures by start date. An exposure joins the current line when it starts within 60
days of the line's start with no progression in between; when it is conditioning (melphalan
<= 14 days before) or mobilisation (cyclophosphamide <= 60 days before) of the line's ASCT; or
when it is maintenance: a drug already in the line, restarted within 180 days after the line's
ASCT or after the line's other drugs end, with no progression in between. Anything else opens a
new line. Steroids and supportive drugs never open or define a line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from fhir_mappings.facts import DrugExposure, Evidence, ProgressionEvent, TherapyLine, Transplant
from fhir_mappings.parameters import DEFAULT_PARAMETERS, DerivationParameters


@dataclass(frozen=True, slots=True)
class _Windows:
    join: timedelta
    asct: timedelta
    conditioning: timedelta
    mobilisation: timedelta
    maintenance: timedelta

    @classmethod
    def of(cls, params: DerivationParameters) -> _Windows:
        return cls(params.days("line_join_window_days"), params.days("asct_line_window_days"),
                   params.days("conditioning_window_days"), params.days("mobilisation_window_days"),
                   params.days("maintenance_window_days"))


@dataclass(slots=True)
class _Line:
    start: date
    exposures: list[DrugExposure] = field(default_factory=list)
    asct: Transplant | None = None
    maintenance: list[str] = field(default_factory=list)

    @property
    def drugs(self) -> list[str]:
        return list(dict.fromkeys(e.drug for e in self.exposures))


class _Progressions:
    def __init__(self, events: tuple[ProgressionEvent, ...]) -> None:
        self._dates = sorted(e.date for e in events)

    def between(self, after: date, until: date) -> bool:
        """A progression event in (after, until]."""
        return any(after < d <= until for d in self._dates)


def _asct_for(line: _Line, transplants: list[Transplant], progressions: _Progressions,
              windows: _Windows) -> Transplant | None:
    """The first ASCT within 12 months after the line's start with no progression before it."""
    for transplant in transplants:
        assert transplant.date is not None
        if line.start <= transplant.date <= line.start + windows.asct and not progressions.between(
            line.start, transplant.date
        ):
            return transplant
    return None


def _is_peri_transplant(exposure: DrugExposure, asct_date: date, windows: _Windows) -> bool:
    lead = asct_date - exposure.start
    if exposure.drug == "melphalan":
        return timedelta(0) <= lead <= windows.conditioning
    if exposure.drug == "cyclophosphamide":
        return timedelta(0) <= lead <= windows.mobilisation
    return False


def _is_maintenance(exposure: DrugExposure, line: _Line, progressions: _Progressions, windows: _Windows) -> bool:
    """A drug already in the line, restarted with no progression since it paused, within 180
    days after the line's ASCT or after the line's other drugs end (or while they continue)."""
    paused = [e.end for e in line.exposures if e.drug == exposure.drug]
    if not paused or progressions.between(min(max(paused), exposure.start), exposure.start):
        return False
    asct_date = line.asct.date if line.asct is not None else None
    if (asct_date is not None and asct_date - windows.join <= exposure.start <= asct_date + windows.maintenance
            and not progressions.between(min(asct_date, exposure.start), exposure.start)):
        return True
    others = [e.end for e in line.exposures if e.drug != exposure.drug]
    return bool(others) and exposure.start <= max(others) + windows.maintenance


def build_lines(exposures: tuple[DrugExposure, ...], transplants: tuple[Transplant, ...],
                events: tuple[ProgressionEvent, ...],
                params: DerivationParameters = DEFAULT_PARAMETERS) -> tuple[TherapyLine, ...]:
    windows = _Windows.of(params)
    progressions = _Progressions(events)
    dated_transplants = sorted((t for t in transplants if t.date is not None), key=lambda t: t.date)  # type: ignore[arg-type, return-value]
    lines: list[_Line] = []
    for exposure in sorted((e for e in exposures if e.role == "antimyeloma"), key=lambda e: (e.start, e.drug)):
        current = lines[-1] if lines else None
        if current is not None and _joins(exposure, current, dated_transplants, progressions, windows):
            current.exposures.append(exposure)
            continue
        line = _Line(start=exposure.start, exposures=[exposure])
        line.asct = _asct_for(line, dated_transplants, progressions, windows)
        if current is not None and line.asct is not None and current.asct is line.asct:
            current.asct = None  # a transplant belongs to the latest line started before it
        lines.append(line)
    return tuple(_freeze(number, line, windows) for number, line in enumerate(lines, start=1))


def _joins(exposure: DrugExposure, line: _Line, transplants: list[Transplant], progressions: _Progressions,
           windows: _Windows) -> bool:
    if exposure.start - line.start <= windows.join and not progressions.between(line.start, exposure.start):
        return True
    if line.asct is None:
        line.asct = _asct_for(line, transplants, progressions, windows)
    if line.asct is not None and line.asct.date is not None and _is_peri_transplant(exposure, line.asct.date, windows):
        return True
    if _is_maintenance(exposure, line, progressions, windows):
        line.maintenance.append(exposure.drug)
        return True
    return False


def _freeze(number: int, line: _Line, windows: _Windows) -> TherapyLine:
    evidence: list[Evidence] = [e.evidence[0] for e in line.exposures if e.evidence]
    maintenance = dict.fromkeys(line.maintenance)
    if line.asct is not None:
        evidence.append(line.asct.evidence)
        asct_date = line.asct.date
        # A drug of the line that simply continued well past the transplant is maintenance too.
        for exposure in line.exposures:
            if asct_date is not None and exposure.start < asct_date and exposure.end > asct_date + windows.join \
                    and exposure.drug not in ("melphalan", "cyclophosphamide"):
                maintenance.setdefault(exposure.drug)
    return TherapyLine(
        number=number,
        start=line.start,
        drugs=tuple(line.drugs),
        includes_asct=line.asct is not None,
        maintenance_drugs=tuple(maintenance),
        evidence=tuple(evidence),
    )
