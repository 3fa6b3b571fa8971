"""A scenario's patient (clinical intent) as the ``PatientFacts`` the mapping would derive.

Drug classes and roles come from the knowledge base's drug catalogue, and the frailty,
transplant-eligibility and penta-refractory definitions from its derivation parameters, so a
scenario means the same thing the service applies. Evidence ids are stable (the same patient
always cites the same resources).
"""

from __future__ import annotations

import zlib
from datetime import date, timedelta
from typing import Any

from cds_service.scenarios.models import Patient
from clinical_rules.kb import KnowledgeBase
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

ABNORMALITIES = ("del17p", "t4_14", "t14_16", "t11_14", "gain1q")
ALWAYS_EXPOSED = ("bortezomib", "lenalidomide")
FINDINGS = ("heart_failure", "neuropathy", "vte_history", "plasma_cell_leukaemia", "extramedullary")


def evidence(resource_type: str, text: str, when: date | None = None, value: Any = None, unit: str | None = None
             ) -> Evidence:
    rid = f"{resource_type.lower()}-{zlib.crc32(text.encode()) % 10_000}"
    return Evidence(resource_type, rid, when, text, value, unit)


def facts_for(patient: Patient, kb: KnowledgeBase, evaluation_date: date, patient_id: str = "pt-1") -> PatientFacts:
    """The facts of ``patient`` at ``evaluation_date``."""
    return _Facts(patient, kb, evaluation_date, patient_id).build()


class _Facts:
    def __init__(self, patient: Patient, kb: KnowledgeBase, evaluation_date: date, patient_id: str) -> None:
        self.p = patient
        self.kb = kb
        self.today = evaluation_date
        self.patient_id = patient_id
        self.params = kb.derivation_parameters

    def measurement(self, value: float, unit: str, days_ago: int, text: str) -> Measurement:
        when = self.today - timedelta(days=days_ago)
        return Measurement(value, unit, when, evidence("Observation", text, when, value, unit))

    def classes(self, drug: str) -> tuple[str, ...]:
        return self.kb.classes_of(drug)

    def role(self, drug: str) -> str:
        return self.kb.catalog.get(drug).role if drug in self.kb.catalog else "antimyeloma"

    def exposure(self, drug: str) -> DrugExposure:
        p = self.p
        ongoing = drug in p.taking or drug in p.refractory_to
        start = self.today - timedelta(days=400)
        return DrugExposure(
            drug=drug, classes=self.classes(drug), role=self.role(drug), start=start,
            end=self.today if ongoing else self.today - timedelta(days=200), ongoing=ongoing,
            stopped_for_progression=False, evidence=(evidence("MedicationStatement", drug, start),),
        )

    def build(self) -> PatientFacts:
        p, today = self.p, self.today
        at_relapse = p.status == "relapse"
        progression = ProgressionEvent(
            today - timedelta(days=30), ("imwg-serum",), "serum M-protein 1.1 g/dL from nadir 0.4 g/dL, confirmed",
            (evidence("Observation", "serum M-protein 1.1 g/dL", today - timedelta(days=30), 1.1, "g/dL"),),
        )
        refractory = set(p.refractory_to)
        exposed = set(ALWAYS_EXPOSED) | set(p.exposed_to) | refractory
        exposures = tuple(self.exposure(d) for d in sorted(exposed | set(p.taking)))
        histories = tuple(
            DrugHistory(drug=d, classes=self.classes(d), exposures=(self.exposure(d),), refractory=d in refractory,
                        refractory_event=progression if d in refractory else None,
                        refractory_exposure=self.exposure(d) if d in refractory else None)
            for d in sorted(exposed) if self.role(d) != "supportive"
        )
        refractory_classes = {c for d in refractory for c in self.classes(d)}
        cd38_refractory = "anti-CD38" in refractory_classes
        ecog = p.ecog
        age = p.age if p.age is not None else 0
        frail = (ecog is not None and ecog >= self.params.frail_min_ecog) or (p.age is not None
                                                                             and age >= self.params.frail_min_age)
        eligible = (p.age is not None and age <= self.params.transplant_max_age and not frail
                    and (ecog is None or ecog <= self.params.transplant_max_ecog))
        cytogenetics = self._cytogenetics()
        tested = {r.abnormality for r in cytogenetics}
        positive = {r.abnormality for r in cytogenetics if r.positive}
        high_risk_tests = tuple(self.params.high_risk_abnormalities)
        weight = self.measurement(p.weight_kg, "kg", 20, f"weight {p.weight_kg} kg") if p.weight_kg else None
        height = self.measurement(p.height_cm, "cm", 400, f"height {p.height_cm} cm") if p.height_cm else None
        creatinine = self.measurement(1.0, "mg/dL", 15, "creatinine 1.0 mg/dL") if p.crcl is not None else None
        last = None
        if p.crcl is None and p.last_renal is not None:
            value = p.last_renal
            last = self.measurement(value.value, "mg/dL" if value.kind == "creatinine" else "mL/min", value.days_ago,
                                    f"{value.kind} {value.value:g}")
            if value.kind == "creatinine" and value.days_ago <= self.params.creatinine_recent_days:
                creatinine = last  # recent, but no CrCl from it (as the mapping: weight or age missing)
        renal = Renal(crcl_ml_min=p.crcl, method="cockcroft-gault" if p.crcl is not None else None,
                      dialysis=p.dialysis, creatinine_mg_dl=creatinine, weight_kg=weight,
                      evidence=(creatinine.evidence,) if creatinine else (),
                      last_value=last, last_kind=p.last_renal.kind if last is not None else None)  # type: ignore[union-attr]
        findings = {name: Finding(name in p.findings, (evidence("Condition", name),) if name in p.findings else ())
                    for name in FINDINGS}
        lines = tuple(
            TherapyLine(n + 1, today - timedelta(days=2000 - 300 * n), ALWAYS_EXPOSED, bool(p.maintenance)
                        and n + 1 == p.prior_lines, p.maintenance if n + 1 == p.prior_lines else (), ())
            for n in range(p.prior_lines)
        )
        transplants: tuple[Transplant, ...] = ()
        months = None
        if p.asct_months is not None:
            dated = p.asct_months != "undated"
            transplants = (Transplant(today - timedelta(days=1500) if dated else None,
                                      evidence("Procedure", "autologous HSCT")),)
            months = float(p.asct_months) if dated else None
        possible = None
        if p.status == "possible-progression":
            when = today - timedelta(days=10)
            possible = PossibleProgression(when, "serum-m-protein", "serum M-protein 0.9 g/dL from nadir 0.3 g/dL",
                                           (evidence("Observation", "serum M-protein 0.9 g/dL", when, 0.9, "g/dL"),))
        bsa = ((p.height_cm * p.weight_kg) / 3600) ** 0.5 if p.height_cm and p.weight_kg else None
        myeloma = p.status != "no-myeloma"
        return PatientFacts(
            evaluation_date=today, patient_id=self.patient_id, age=p.age, sex=p.sex,
            birth_date=date(today.year - p.age, 1, 1) if p.age is not None else None,
            myeloma=Finding(myeloma, (evidence("Condition", "multiple myeloma"),) if myeloma else ()),
            plasma_cell_leukaemia=findings["plasma_cell_leukaemia"], extramedullary=findings["extramedullary"],
            exposures=exposures, drug_histories=histories, transplants=transplants,
            months_asct_to_progression=months,
            progression_events=(progression,) if p.status in ("relapse", "new-line-started") else (),
            possible_progression=possible, lines=lines, prior_lines=p.prior_lines,
            at_relapse=at_relapse, new_line_after_progression=p.status == "new-line-started",
            lenalidomide_refractory="lenalidomide" in refractory, imid_refractory="IMiD" in refractory_classes,
            pi_refractory="PI" in refractory_classes,
            anti_cd38_exposed=any("anti-CD38" in self.classes(d) for d in exposed),
            anti_cd38_refractory=cd38_refractory,
            triple_class_refractory={"IMiD", "PI", "anti-CD38"} <= refractory_classes,
            penta_refractory=cd38_refractory and set(self.params.penta_refractory_drugs) <= refractory,
            cytogenetics=cytogenetics,
            high_risk=bool(positive & set(high_risk_tests)) if tested else None,
            t11_14_positive="t11_14" in positive, cytogenetics_on_file=bool(cytogenetics),
            missing_cytogenetics=tuple(a for a in high_risk_tests if a not in tested),  # type: ignore[arg-type]
            renal=renal, heart_failure=findings["heart_failure"],
            lvef_percent=self.measurement(p.lvef_percent.value, "%", p.lvef_percent.days_ago, "LVEF")
            if p.lvef_percent else None,
            neuropathy=findings["neuropathy"], vte_history=findings["vte_history"],
            ecog=self.measurement(ecog, "{score}", 40, "ECOG") if ecog is not None else None,
            frail=frail, transplant_eligible=eligible, height_cm=height, weight_kg=weight, bsa_m2=bsa,
            igg_mg_dl=self.measurement(p.igg_mg_dl.value, "mg/dL", p.igg_mg_dl.days_ago, "IgG") if p.igg_mg_dl else None,
            circulating_plasma_cells_percent=None, response_measurements_on_file=p.response_measurements,
        )

    def _cytogenetics(self) -> tuple[CytogeneticResult, ...]:
        if self.p.cytogenetics == "none":
            return ()
        when = self.today - timedelta(days=900)
        positives = self.p.cytogenetics
        return tuple(CytogeneticResult(a, bool(positives.get(a, False)), when,  # type: ignore[arg-type]
                                       evidence("Observation", f"FISH {a}", when))
                     for a in ABNORMALITIES if a not in self.p.untested)
