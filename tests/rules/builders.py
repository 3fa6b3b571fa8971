"""Build PatientFacts by clinical intent (no FHIR): a fit 65-year-old at first relapse by default.

    facts = FactsBuilder().prior_lines(2).refractory_to("lenalidomide", "bortezomib").crcl(45).build()

Refractoriness flags (lenalidomide-, PI-, anti-CD38-, triple-class, penta-refractory) are derived
from the drugs made refractory, as 02 §2.6 defines them.
"""

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
    PossibleProgression,
    ProgressionEvent,
    Renal,
    TherapyLine,
    Transplant,
)

EVALUATION_DATE = date(2026, 3, 1)
CLASSES = {
    "lenalidomide": ("IMiD",), "pomalidomide": ("IMiD",), "thalidomide": ("IMiD",),
    "bortezomib": ("PI",), "carfilzomib": ("PI",), "ixazomib": ("PI",),
    "daratumumab": ("anti-CD38",), "isatuximab": ("anti-CD38",), "elotuzumab": ("anti-SLAMF7",),
    "selinexor": ("XPO1",), "cyclophosphamide": ("alkylator",), "venetoclax": ("BCL-2",),
    "teclistamab": ("bispecific",), "dexamethasone": ("steroid",),
    "aspirin": ("antiplatelet",), "apixaban": ("anticoagulant",), "enoxaparin": ("anticoagulant",),
    "warfarin": ("anticoagulant",), "acyclovir": ("antiviral",), "valacyclovir": ("antiviral",),
    "famciclovir": ("antiviral",), "ondansetron": ("5-HT3 antiemetic",),
    "rivaroxaban": ("anticoagulant",), "granisetron": ("5-HT3 antiemetic",), "atovaquone": ("PJP prophylaxis",),
    "sulfamethoxazole-trimethoprim": ("PJP prophylaxis",),
}
SUPPORTIVE = {"aspirin", "apixaban", "enoxaparin", "warfarin", "acyclovir", "valacyclovir", "famciclovir", "ondansetron",
              "rivaroxaban", "granisetron", "atovaquone", "sulfamethoxazole-trimethoprim"}


def evidence(resource_type: str, text: str, when: date | None = None, value: Any = None, unit: str | None = None) -> Evidence:
    return Evidence(resource_type, f"{resource_type.lower()}-{abs(hash(text)) % 10_000}", when, text, value, unit)


def measurement(value: float, unit: str, days_ago: int, text: str) -> Measurement:
    when = EVALUATION_DATE - timedelta(days=days_ago)
    return Measurement(value, unit, when, evidence("Observation", text, when, value, unit))


class FactsBuilder:
    def __init__(self) -> None:
        self._age = 65
        self._sex = "male"
        self._lines = 1
        self._refractory: set[str] = set()
        self._exposed: set[str] = {"bortezomib", "lenalidomide"}
        self._current: set[str] = set()
        self._cyto: list[CytogeneticResult] = [
            self._cyto_result("del17p", False), self._cyto_result("t4_14", False),
            self._cyto_result("t14_16", False), self._cyto_result("t11_14", False),
            self._cyto_result("gain1q", False),
        ]
        self._cyto_on_file = True
        self._crcl: float | None = 80.0
        self._dialysis = False
        self._ecog: float | None = 1
        self._findings: dict[str, bool] = {}
        self._transplant_months: float | None = None
        self._transplanted = False
        self._at_relapse = True
        self._new_line = False
        self._possible: PossibleProgression | None = None
        self._myeloma = True
        self._height: float | None = 175.0
        self._weight: float | None = 80.0
        self._igg: float | None = None
        self._lvef: tuple[float, int] | None = None
        self._overrides: dict[str, Any] = {}

    @staticmethod
    def _cyto_result(abnormality: str, positive: bool) -> CytogeneticResult:
        when = EVALUATION_DATE - timedelta(days=900)
        return CytogeneticResult(abnormality, positive, when, evidence("Observation", f"FISH {abnormality}", when))  # type: ignore[arg-type]

    # -- intent ----------------------------------------------------------------------------
    def age(self, years: int) -> FactsBuilder:
        self._age = years
        return self

    def female(self) -> FactsBuilder:
        self._sex = "female"
        return self

    def prior_lines(self, n: int) -> FactsBuilder:
        self._lines = n
        return self

    def refractory_to(self, *drugs: str) -> FactsBuilder:
        self._refractory |= set(drugs)
        self._exposed |= set(drugs)
        return self

    def exposed_to(self, *drugs: str) -> FactsBuilder:
        self._exposed |= set(drugs)
        return self

    def currently_taking(self, *drugs: str) -> FactsBuilder:
        self._current |= set(drugs)
        return self

    def crcl(self, ml_min: float) -> FactsBuilder:
        self._crcl = ml_min
        return self

    def on_dialysis(self) -> FactsBuilder:
        self._dialysis = True
        self._crcl = None
        return self

    def no_recent_creatinine(self) -> FactsBuilder:
        self._crcl = None
        return self

    def ecog(self, value: float | None) -> FactsBuilder:
        self._ecog = value
        return self

    def frail(self) -> FactsBuilder:
        return self.ecog(2)

    def with_finding(self, name: str) -> FactsBuilder:
        """name: heart_failure, neuropathy, vte_history, plasma_cell_leukaemia, extramedullary."""
        self._findings[name] = True
        return self

    def cytogenetics(self, **positive: bool) -> FactsBuilder:
        self._cyto = [self._cyto_result(a, positive.get(a, False)) for a in ("del17p", "t4_14", "t14_16", "t11_14", "gain1q")]
        return self

    def no_cytogenetics(self) -> FactsBuilder:
        self._cyto = []
        self._cyto_on_file = False
        return self

    def asct(self, months_to_progression: float | None) -> FactsBuilder:
        self._transplanted = True
        self._transplant_months = months_to_progression
        return self

    def not_at_relapse(self) -> FactsBuilder:
        self._at_relapse = False
        return self

    def new_line_started(self) -> FactsBuilder:
        self._new_line = True
        self._at_relapse = False
        return self

    def possible_progression(self) -> FactsBuilder:
        self._at_relapse = False
        when = EVALUATION_DATE - timedelta(days=10)
        self._possible = PossibleProgression(
            when, "serum-m-protein", "serum M-protein 0.9 g/dL from nadir 0.3 g/dL",
            (evidence("Observation", "serum M-protein 0.9 g/dL", when, 0.9, "g/dL"),),
        )
        return self

    def no_myeloma(self) -> FactsBuilder:
        self._myeloma = False
        return self

    def body(self, height_cm: float | None, weight_kg: float | None) -> FactsBuilder:
        self._height, self._weight = height_cm, weight_kg
        return self

    def igg(self, mg_dl: float) -> FactsBuilder:
        self._igg = mg_dl
        return self

    def lvef(self, percent: float, days_ago: int) -> FactsBuilder:
        self._lvef = (percent, days_ago)
        return self

    def override(self, **fields: Any) -> FactsBuilder:
        self._overrides.update(fields)
        return self

    # -- build -----------------------------------------------------------------------------
    def build(self) -> PatientFacts:
        ev = EVALUATION_DATE
        progression = ProgressionEvent(
            ev - timedelta(days=30), ("imwg-serum",), "serum M-protein 1.1 g/dL from nadir 0.4 g/dL, confirmed",
            (evidence("Observation", "serum M-protein 1.1 g/dL", ev - timedelta(days=30), 1.1, "g/dL"),),
        )
        exposures = [self._exposure(d) for d in sorted(self._exposed | self._current)]
        histories = tuple(
            DrugHistory(
                drug=d, classes=CLASSES.get(d, ()), exposures=(self._exposure(d),), refractory=d in self._refractory,
                refractory_event=progression if d in self._refractory else None,
                refractory_exposure=self._exposure(d) if d in self._refractory else None,
            )
            for d in sorted(self._exposed)
            if d not in SUPPORTIVE
        )
        refr_classes = {c for d in self._refractory for c in CLASSES.get(d, ())}
        len_r = "lenalidomide" in self._refractory
        cd38_exposed = bool({"daratumumab", "isatuximab"} & self._exposed)
        cd38_r = "anti-CD38" in refr_classes
        tcr = {"IMiD", "PI", "anti-CD38"} <= refr_classes
        penta = cd38_r and {"lenalidomide", "pomalidomide", "bortezomib", "carfilzomib"} <= self._refractory
        frail = (self._ecog is not None and self._ecog >= 2) or self._age >= 80
        eligible = self._age <= 70 and not frail and (self._ecog is None or self._ecog <= 1)
        weight = measurement(self._weight, "kg", 20, f"weight {self._weight} kg") if self._weight else None
        height = measurement(self._height, "cm", 400, f"height {self._height} cm") if self._height else None
        creatinine = measurement(1.0, "mg/dL", 15, "creatinine 1.0 mg/dL") if self._crcl is not None else None
        renal = Renal(
            crcl_ml_min=self._crcl, method="cockcroft-gault" if self._crcl is not None else None,
            dialysis=self._dialysis, creatinine_mg_dl=creatinine, weight_kg=weight,
            evidence=(creatinine.evidence,) if creatinine else (),
        )
        bsa = ((self._height * self._weight) / 3600) ** 0.5 if self._height and self._weight else None
        transplants = (Transplant(ev - timedelta(days=1500), evidence("Procedure", "autologous HSCT")),) if self._transplanted else ()
        positive = {r.abnormality for r in self._cyto if r.positive}
        tested = {r.abnormality for r in self._cyto}
        high_risk_tests = ("del17p", "t4_14", "t14_16", "gain1q")
        lines = tuple(
            TherapyLine(n + 1, ev - timedelta(days=2000 - 300 * n), ("bortezomib", "lenalidomide"), False, (), ())
            for n in range(self._lines)
        )
        findings = {k: Finding(self._findings.get(k, False), (evidence("Condition", k),) if self._findings.get(k) else ())
                    for k in ("heart_failure", "neuropathy", "vte_history", "plasma_cell_leukaemia", "extramedullary")}
        facts = PatientFacts(
            evaluation_date=ev, patient_id="pt-1", age=self._age, sex=self._sex,  # type: ignore[arg-type]
            birth_date=date(ev.year - self._age, 1, 1),
            myeloma=Finding(self._myeloma, (evidence("Condition", "multiple myeloma"),) if self._myeloma else ()),
            plasma_cell_leukaemia=findings["plasma_cell_leukaemia"], extramedullary=findings["extramedullary"],
            exposures=tuple(exposures), drug_histories=histories, transplants=transplants,
            months_asct_to_progression=self._transplant_months,
            progression_events=(progression,) if self._at_relapse or self._new_line else (),
            possible_progression=self._possible, lines=lines, prior_lines=self._lines,
            at_relapse=self._at_relapse, new_line_after_progression=self._new_line,
            lenalidomide_refractory=len_r, imid_refractory="IMiD" in refr_classes, pi_refractory="PI" in refr_classes,
            anti_cd38_exposed=cd38_exposed, anti_cd38_refractory=cd38_r, triple_class_refractory=tcr,
            penta_refractory=penta, cytogenetics=tuple(self._cyto),
            high_risk=(bool(positive & set(high_risk_tests)) if tested else None),
            t11_14_positive="t11_14" in positive, cytogenetics_on_file=self._cyto_on_file,
            missing_cytogenetics=tuple(a for a in high_risk_tests if a not in tested) if self._cyto_on_file else high_risk_tests,  # type: ignore[arg-type]
            renal=renal, heart_failure=findings["heart_failure"],
            lvef_percent=measurement(self._lvef[0], "%", self._lvef[1], "LVEF") if self._lvef else None,
            neuropathy=findings["neuropathy"], vte_history=findings["vte_history"],
            ecog=measurement(self._ecog, "{score}", 40, "ECOG") if self._ecog is not None else None,
            frail=frail, transplant_eligible=eligible, height_cm=height, weight_kg=weight, bsa_m2=bsa,
            igg_mg_dl=measurement(self._igg, "mg/dL", 20, "IgG") if self._igg is not None else None,
            circulating_plasma_cells_percent=None,
        )
        return replace(facts, **self._overrides) if self._overrides else facts

    def _exposure(self, drug: str) -> DrugExposure:
        ev = EVALUATION_DATE
        ongoing = drug in self._current or drug in self._refractory
        start = ev - timedelta(days=400)
        return DrugExposure(
            drug=drug, classes=CLASSES.get(drug, ()), role="supportive" if drug in SUPPORTIVE else "antimyeloma",
            start=start, end=ev if ongoing else ev - timedelta(days=200), ongoing=ongoing,
            stopped_for_progression=False, evidence=(evidence("MedicationStatement", drug, start),),
        )
