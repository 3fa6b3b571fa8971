"""Recurring pieces of a myeloma history (induction, transplant, labs), shared by the personas.

Every argument that is a date is *days before the persona's today* (see ``authoring.day``).
"""

from __future__ import annotations

from cds_service.samples import concepts as c
from cds_service.samples.authoring import Chart, drug, quantity, text_only


def every(start: int, end: int, step: int) -> list[int]:
    """Days from ``start`` down to ``end`` (both days-before-today), every ``step`` days."""
    return list(range(start, end - 1, -step))


def vrd_induction(chart: Chart, start: int, cycles: int = 4, *, lenalidomide_as: str = "statement") -> int:
    """Bortezomib-lenalidomide-dexamethasone, 21-day cycles. Returns the day induction ended."""
    end = start - cycles * 21 + 7
    bortezomib_days = [start - cycle * 21 - offset for cycle in range(cycles) for offset in (0, 3, 7, 10)]
    chart.administrations(drug("bortezomib", brand="Velcade"), bortezomib_days,
                          dose=quantity(1.3, "mg/m2"), route="subcutaneous")
    lenalidomide = drug("lenalidomide", "Revlimid 25 mg capsule", brand="Revlimid")
    if lenalidomide_as == "request":
        chart.request(lenalidomide, start, end, dose_text="25 mg by mouth daily, days 1-14 of each 21-day cycle",
                      dose=quantity(25, "mg"))
    else:
        chart.statement(lenalidomide, start, end, dose_text="25 mg by mouth daily, days 1-14 of each 21-day cycle")
    chart.statement(drug("dexamethasone"), start, end, dose_text="40 mg by mouth weekly")
    return end


def autologous_transplant(chart: Chart, when: int, *, coded_with_cpt: bool = False) -> None:
    """High-dose melphalan conditioning two days before, then the autologous transplant."""
    chart.administrations(drug("melphalan", "Melphalan 200 mg/m2 IV (conditioning)"), [when + 2],
                          dose=quantity(200, "mg/m2"), route="intravenous")
    chart.procedure(c.ASCT_CPT if coded_with_cpt else c.ASCT, when)


def m_protein(chart: Chart, points: list[tuple[int, float]], unit: str = "g/dL") -> None:
    chart.series(c.M_PROTEIN, unit, points)


def routine_labs(chart: Chart, days: list[int], *, hemoglobin: float = 11.8, calcium: float = 9.4) -> None:
    """The blood count and chemistry every myeloma visit carries (not used by the rules: noise)."""
    for d in days:
        chart.observation(c.HEMOGLOBIN, d, value=quantity(hemoglobin, "g/dL"))
        chart.observation(c.CALCIUM, d, value=quantity(calcium, "mg/dL"))
        chart.observation(c.PLATELETS, d, value=quantity(182, "10*3/uL"))


def current_status(
    chart: Chart,
    when: int,
    *,
    creatinine: float,
    weight: float,
    height: float,
    ecog: int,
    creatinine_unit: str = "mg/dL",
    weight_unit: str = "kg",
) -> None:
    """Recent creatinine, weight, height and ECOG: what renal dosing, BSA and frailty need."""
    creatinine_code = c.CREATININE_UMOL if creatinine_unit == "umol/L" else c.CREATININE
    chart.observation(creatinine_code, when, value=quantity(creatinine, creatinine_unit))
    chart.observation(c.WEIGHT, when, value=quantity(weight, weight_unit), category="vital-signs")
    chart.observation(c.HEIGHT, when, value=quantity(height, "cm"), category="vital-signs")
    chart.observation(c.ECOG, when, value_integer=ecog, category="survey")


def fish_panel(chart: Chart, when: int, results: dict[str, bool]) -> None:
    """Structured FISH results; keys ``del17p``, ``t4_14``, ``t11_14``."""
    codes = {"del17p": c.FISH_DEL17P, "t4_14": c.FISH_T4_14, "t11_14": c.FISH_T11_14}
    for name, positive in results.items():
        chart.observation(codes[name], when, value_concept=c.DETECTED if positive else c.NOT_DETECTED)


def disease_status(chart: Chart, when: int, worsened: bool = True) -> None:
    chart.observation(c.DISEASE_STATUS, when, value_concept=c.WORSENED if worsened else c.STABLE,
                      category="exam")


def unrelated_medicines(chart: Chart, start: int) -> None:
    """Long-term medicines the rules must ignore (not in the myeloma drug table)."""
    chart.statement(text_only("Atorvastatin 20 mg tablet"), start, None, dose_text="20 mg by mouth nightly")
    chart.statement(text_only("Amlodipine 5 mg tablet"), start, None, dose_text="5 mg by mouth daily")
