"""Small builders for order-check tests: PatientFacts by intent and draft MedicationRequests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from fhir_mappings.facts import (
    CytogeneticResult,
    DrugExposure,
    DrugHistory,
    Evidence,
    Finding,
    Measurement,
    PatientFacts,
    ProgressionEvent,
    Renal,
)
from fhir_mappings.terminology import DrugCatalog

TODAY = date(2025, 6, 1)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def facts(**changes: Any) -> PatientFacts:
    """A 60-year-old fit myeloma patient at first relapse with normal renal function, taking
    nothing now; ``changes`` replace any field."""
    base = PatientFacts(
        evaluation_date=TODAY, patient_id="p1", age=60, sex="male", birth_date=date(1965, 1, 1),
        myeloma=Finding(True, (Evidence("Condition", "mm", date(2020, 1, 1), "multiple myeloma"),)),
        plasma_cell_leukaemia=Finding(False), extramedullary=Finding(False),
        exposures=(), drug_histories=(), transplants=(), months_asct_to_progression=None,
        progression_events=(), possible_progression=None, lines=(), prior_lines=1, at_relapse=True,
        new_line_after_progression=False, lenalidomide_refractory=False, imid_refractory=False,
        pi_refractory=False, anti_cd38_exposed=False, anti_cd38_refractory=False,
        triple_class_refractory=False, penta_refractory=False, cytogenetics=(), high_risk=None,
        t11_14_positive=False, cytogenetics_on_file=False, missing_cytogenetics=(),
        renal=renal(90.0), heart_failure=Finding(False), lvef_percent=None, neuropathy=Finding(False),
        vte_history=Finding(False), ecog=measurement(1, "{score}"), frail=False, transplant_eligible=True,
        height_cm=measurement(175, "cm"), weight_kg=measurement(80, "kg"), bsa_m2=1.97, igg_mg_dl=None,
        circulating_plasma_cells_percent=None,
    )
    return replace(base, **changes)


def measurement(value: float, unit: str, days_ago: int = 10, rid: str = "obs") -> Measurement:
    day = TODAY - timedelta(days=days_ago)
    return Measurement(value, unit, day, Evidence("Observation", rid, day, f"{value} {unit}", value, unit))


def renal(crcl: float | None, *, dialysis: bool = False) -> Renal:
    creatinine = measurement(1.0, "mg/dL", rid="creat") if crcl is not None else None
    return Renal(crcl_ml_min=crcl, method="cockcroft-gault" if crcl is not None else None, dialysis=dialysis,
                 creatinine_mg_dl=creatinine, weight_kg=measurement(80, "kg", rid="wt") if crcl else None,
                 evidence=(creatinine.evidence,) if creatinine else ())


def exposure(drug: str, start_days_ago: int, end_days_ago: int | None = None) -> DrugExposure:
    catalog = DrugCatalog.default()
    known = catalog.get(drug)
    start = TODAY - timedelta(days=start_days_ago)
    end = TODAY - timedelta(days=end_days_ago) if end_days_ago is not None else TODAY
    return DrugExposure(drug=drug, classes=known.classes, role=known.role, start=start, end=end,
                        ongoing=end_days_ago is None, stopped_for_progression=False,
                        evidence=(Evidence("MedicationStatement", f"ms-{drug}", start, drug),))


def refractory_to(drug: str, progression_days_ago: int = 40) -> DrugHistory:
    """A history of ``drug`` with progression on it (ongoing exposure)."""
    drug_exposure = exposure(drug, 400)
    day = TODAY - timedelta(days=progression_days_ago)
    event = ProgressionEvent(day, ("disease-status",), "disease status: worsened",
                             (Evidence("Observation", "ds1", day, "disease status worsened"),))
    return DrugHistory(drug=drug, classes=drug_exposure.classes, exposures=(drug_exposure,), refractory=True,
                       refractory_event=event, refractory_exposure=drug_exposure)


def taking(*drugs: str) -> dict[str, Any]:
    """Fields for a patient currently taking ``drugs`` (e.g. aspirin, acyclovir)."""
    return {"exposures": tuple(exposure(d, 100) for d in drugs)}


def t11_14(positive: bool) -> CytogeneticResult:
    day = TODAY - timedelta(days=300)
    return CytogeneticResult("t11_14", positive, day, Evidence("Observation", "fish", day, "t(11;14)"))


# -- drafts ---------------------------------------------------------------------------------------
def draft(rid: str, medication: str | dict, dose: float | None = None, unit: str = "mg", *,
          frequency: int = 1, period: float = 1, period_unit: str = "d", route: str | None = None,
          text: str | None = None, intent: bool = True) -> dict[str, Any]:
    """A draft MedicationRequest; ``medication`` as text or a CodeableConcept; a structured dose
    only when ``dose`` is given."""
    concept = {"text": medication} if isinstance(medication, str) else medication
    dosage: dict[str, Any] = {}
    if text:
        dosage["text"] = text
    if dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": {"value": dose, "unit": unit, "system": "http://unitsofmeasure.org",
                                                   "code": unit}}]
        dosage["timing"] = {"repeat": {"frequency": frequency, "period": period, "periodUnit": period_unit}}
    if route:
        dosage["route"] = {"coding": [{"system": "http://hospital.example.org/route", "code": route}]}
    resource: dict[str, Any] = {"resourceType": "MedicationRequest", "id": rid, "status": "draft",
                                "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": concept}
    if intent:
        resource["intent"] = "order"
    if dosage:
        resource["dosageInstruction"] = [dosage]
    return resource


def rx(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": RXNORM, "code": code, "display": display}], "text": display}


LEN = rx("342369", "lenalidomide")
DEX = rx("3264", "dexamethasone")
DARA = rx("1721947", "daratumumab")
BTZ = rx("358258", "bortezomib")
POM = rx("1369713", "pomalidomide")
IXA = rx("1723735", "ixazomib")
CFZ = rx("1302971", "Kyprolis")
