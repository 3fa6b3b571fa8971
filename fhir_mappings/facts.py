"""The clinical facts the rules consume, each with the evidence it was derived from.

This module is the contract between ``fhir_mappings`` (FHIR -> facts) and ``clinical_rules``
(facts -> decisions). Everything here is immutable and free of FHIR parsing: the rules never look
at a FHIR resource, and the cards explain themselves from the ``Evidence`` carried here.

Vocabulary (shared with the knowledge base):
- drug names are the ``generic`` names of ``fhir_mappings/data/drugs.json`` ("lenalidomide",
  "melphalan flufenamide", "sulfamethoxazole-trimethoprim");
- drug classes are that file's ``classes`` strings ("IMiD", "PI", "anti-CD38", "anti-SLAMF7",
  "XPO1", "BCL-2", "alkylator", "platinum", "anthracycline", "topoisomerase", "HDAC",
  "BCMA CAR-T", "bispecific", "BCMA ADC", "steroid", "antiplatelet", "anticoagulant",
  "antiviral", "PJP prophylaxis", "5-HT3 antiemetic", "immunoglobulin");
- drug roles are that file's ``role`` strings ("antimyeloma", "steroid", "supportive").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Sex = Literal["male", "female", "other", "unknown"]
CytogeneticAbnormality = Literal["del17p", "t4_14", "t14_16", "t11_14", "gain1q"]
HIGH_RISK_ABNORMALITIES: tuple[CytogeneticAbnormality, ...] = ("del17p", "t4_14", "t14_16", "gain1q")
ProgressionKind = Literal[
    "disease-status",  # clinician-recorded 97509-4 / 88040-1 = worsened
    "imwg-serum",  # confirmed serum M-protein rise
    "imwg-urine",  # confirmed 24-h urine M-protein rise
    "imwg-flc",  # confirmed involved-minus-uninvolved FLC rise
    "icd-relapse",  # C90.02 / C90.12 / C90.22
    "clinical-status-relapse",  # Condition.clinicalStatus = relapse on a myeloma Condition
    "stop-reason",  # anti-myeloma drug stopped for progression
]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One FHIR resource that supports a fact, as a card shows it.

    ``text`` is short and human-readable without the date, e.g. "serum M-protein 0.9 g/dL" or
    "lenalidomide (MedicationStatement, Revlimid 10 mg capsule)". It never holds patient names or
    identifiers (cards are shown to the treating clinician, but the same text may reach logs in
    aggregate form; keep it clinical).
    """

    resource_type: str
    resource_id: str
    date: date | None = None
    text: str = ""
    value: float | str | None = None
    unit: str | None = None

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"


@dataclass(frozen=True, slots=True)
class Measurement:
    """A numeric observation normalised to the unit the rules use (named in the field's docstring)."""

    value: float
    unit: str
    date: date
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class DrugExposure:
    """One merged exposure to one drug: every record of it (any resource type) whose intervals
    overlap or lie <= 60 days apart."""

    drug: str
    classes: tuple[str, ...]
    role: str
    start: date
    end: date  # the evaluation date when ongoing
    ongoing: bool
    stopped_for_progression: bool
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class ProgressionEvent:
    """A dated progression (02 §2.4), after merging events within 30 days of each other.

    ``date`` is the earliest member's date; ``kinds`` and ``evidence`` keep every source.
    ``description`` is the card sentence, e.g. "serum M-protein 0.9 g/dL from nadir 0.3 g/dL,
    confirmed 2025-07-01".
    """

    date: date
    kinds: tuple[ProgressionKind, ...]
    description: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class PossibleProgression:
    """A single qualifying M-protein / FLC value not (yet) confirmed by the next measurement."""

    date: date
    analyte: Literal["serum-m-protein", "urine-m-protein", "flc"]
    description: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Transplant:
    """A completed autologous stem-cell transplant; ``date`` None when only Z94.84 says so."""

    date: date | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class TherapyLine:
    number: int  # 1-based
    start: date
    drugs: tuple[str, ...]  # anti-myeloma generics in the line (steroids never open or define a line)
    includes_asct: bool
    maintenance_drugs: tuple[str, ...]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class DrugHistory:
    """Exposure and response for one anti-myeloma drug (02 §2.6)."""

    drug: str
    classes: tuple[str, ...]
    exposures: tuple[DrugExposure, ...]
    refractory: bool
    # The progression event inside [exposure start, exposure end + 60 days] that made it refractory.
    refractory_event: ProgressionEvent | None = None
    refractory_exposure: DrugExposure | None = None


@dataclass(frozen=True, slots=True)
class CytogeneticResult:
    abnormality: CytogeneticAbnormality
    positive: bool
    date: date | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class Renal:
    """Renal function for dosing (02 §2.8).

    ``crcl_ml_min`` is Cockcroft-Gault when creatinine and weight are both within 90 days, else
    eGFR or measured CrCl (within 90 days) compared with the CrCl bands as it is; None when
    unknown. ``method`` says which.
    """

    crcl_ml_min: float | None
    method: Literal["cockcroft-gault", "egfr", "measured-crcl"] | None
    dialysis: bool
    creatinine_mg_dl: Measurement | None
    weight_kg: Measurement | None
    evidence: tuple[Evidence, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. "no weight within 90 days: eGFR used"
    # Only when renal function is unknown: the latest creatinine, eGFR or measured CrCl at any date
    # (older than the window, or recent but without what the CrCl needs), so a data gap can say
    # how old the renal data are rather than only that they are missing.
    last_value: Measurement | None = None
    last_kind: Literal["creatinine", "egfr", "measured-crcl"] | None = None

    @property
    def known(self) -> bool:
        """Renal dosing is decidable: a CrCl-like value, or dialysis (which decides on its own)."""
        return self.crcl_ml_min is not None or self.dialysis


@dataclass(frozen=True, slots=True)
class Finding:
    """A yes/no clinical finding with the resources behind it (heart failure, neuropathy...)."""

    present: bool
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class DataNote:
    """Something the mapping could not use and why ("creatinine 2024-01-02 has no unit: ignored")."""

    code: str  # machine-readable, e.g. "missing-unit", "other-patient", "no-recent-creatinine"
    text: str


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """Everything the algorithm and the order checks know about one patient at one date."""

    evaluation_date: date
    patient_id: str

    # Demographics
    age: int | None
    sex: Sex
    birth_date: date | None

    # Diagnosis (02 §2.1)
    myeloma: Finding
    plasma_cell_leukaemia: Finding
    extramedullary: Finding

    # Drugs (02 §2.2): every recognised drug, anti-myeloma, steroid and supportive
    exposures: tuple[DrugExposure, ...]
    # Anti-myeloma drugs only, keyed by generic name (a tuple of pairs keeps the dataclass hashable;
    # use ``history(drug)``)
    drug_histories: tuple[DrugHistory, ...]

    # Transplant (02 §2.3)
    transplants: tuple[Transplant, ...]
    months_asct_to_progression: float | None  # latest dated ASCT -> first progression after it

    # Progression and lines (02 §2.4, §2.5)
    progression_events: tuple[ProgressionEvent, ...]  # sorted by date
    possible_progression: PossibleProgression | None
    lines: tuple[TherapyLine, ...]
    prior_lines: int
    at_relapse: bool
    new_line_after_progression: bool  # on treatment again: patient-view stays silent

    # Refractoriness (02 §2.6)
    lenalidomide_refractory: bool
    imid_refractory: bool
    pi_refractory: bool
    anti_cd38_exposed: bool
    anti_cd38_refractory: bool
    triple_class_refractory: bool
    penta_refractory: bool

    # Cytogenetics (02 §2.7)
    cytogenetics: tuple[CytogeneticResult, ...]
    high_risk: bool | None  # None: no result that could decide it
    t11_14_positive: bool
    cytogenetics_on_file: bool  # any cytogenetic result, structured or narrative
    missing_cytogenetics: tuple[CytogeneticAbnormality, ...]  # high-risk tests with no result

    # Patient state (02 §2.8)
    renal: Renal
    heart_failure: Finding  # HF condition or latest LVEF < 40 %
    lvef_percent: Measurement | None  # latest LVEF, any date
    neuropathy: Finding
    vte_history: Finding
    ecog: Measurement | None
    frail: bool
    transplant_eligible: bool
    height_cm: Measurement | None
    weight_kg: Measurement | None  # latest within 90 days
    bsa_m2: float | None  # Mosteller, when height and weight are known
    igg_mg_dl: Measurement | None
    circulating_plasma_cells_percent: Measurement | None
    # Any usable serum / urine M-protein or free light chain value (any date): without one, response
    # and progression cannot be judged from the laboratory.
    response_measurements_on_file: bool = False

    # What could not be used, for data-gap cards and the log (never patient identifiers)
    notes: tuple[DataNote, ...] = field(default=())

    # -- convenience -------------------------------------------------------------------------
    def history(self, drug: str) -> DrugHistory | None:
        for h in self.drug_histories:
            if h.drug == drug:
                return h
        return None

    def is_refractory(self, drug: str) -> bool:
        h = self.history(drug)
        return bool(h and h.refractory)

    def exposed(self, drug: str) -> bool:
        return any(e.drug == drug for e in self.exposures)

    def current_drugs(self) -> frozenset[str]:
        """Generic names of every recognised drug the patient takes now (ongoing exposure)."""
        return frozenset(e.drug for e in self.exposures if e.ongoing)

    def current_classes(self) -> frozenset[str]:
        return frozenset(c for e in self.exposures if e.ongoing for c in e.classes)

    @property
    def latest_progression(self) -> ProgressionEvent | None:
        return self.progression_events[-1] if self.progression_events else None
