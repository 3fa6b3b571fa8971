"""The scenario files (``clinical_rules/kb/scenarios/*.yaml``): named situations with what the
service must conclude, in the style of request/response test vectors. Three kinds of input:
``patient`` (clinical facts by intent), ``drafts`` (orders drafted for that patient, for the order
hooks) and ``record`` (FHIR R4 resources, through the real mapping and the knowledge base's
derivation parameters). Expectations name only what the scenario is about."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Abnormality = Literal["del17p", "t4_14", "t14_16", "t11_14", "gain1q"]
FindingName = Literal["heart_failure", "neuropathy", "vte_history", "plasma_cell_leukaemia", "extramedullary"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Measured(_Strict):
    value: float
    days_ago: int = 20


class RenalValue(_Strict):
    """The latest renal value when no CrCl is known (``crcl: null``): older than the recency
    window, or a creatinine within it without what the CrCl needs."""

    kind: Literal["creatinine", "egfr", "measured-crcl"] = "creatinine"
    value: float = 1.0
    days_ago: int = 120


class Patient(_Strict):
    """A patient by clinical intent. Defaults: a fit 65-year-old man at first relapse (serum
    M-protein progression 30 days ago) after bortezomib-lenalidomide, standard-risk FISH, CrCl 80,
    ECOG 1, 175 cm, 80 kg."""

    status: Literal["relapse", "not-at-relapse", "new-line-started", "possible-progression", "no-myeloma"] = "relapse"
    age: int | None = 65  # null: birth date unknown
    sex: Literal["male", "female"] = "male"
    prior_lines: int = 1
    refractory_to: tuple[str, ...] = ()
    exposed_to: tuple[str, ...] = ()  # besides bortezomib and lenalidomide (always exposed)
    taking: tuple[str, ...] = ()  # current drugs (prophylaxis ...)
    maintenance: tuple[str, ...] = ()  # drugs of the last line given as maintenance after an ASCT
    crcl: float | None = 80  # null: no creatinine in the recency window
    last_renal: RenalValue | None = None  # with crcl null: the last value there is (else none at all)
    dialysis: bool = False
    ecog: int | None = 1
    findings: tuple[FindingName, ...] = ()
    cytogenetics: dict[Abnormality, bool] | Literal["none"] = Field(default_factory=dict)  # positives; "none": no FISH
    untested: tuple[Abnormality, ...] = ()  # FISH on file but no result for these
    asct_months: float | Literal["undated"] | None = None  # months from the last ASCT to progression
    height_cm: float | None = 175
    weight_kg: float | None = 80
    igg_mg_dl: Measured | None = None
    lvef_percent: Measured | None = None
    response_measurements: bool = True


class Draft(_Strict):
    """A drafted MedicationRequest: a drug of the catalogue (coded with RxNorm when it has a code)
    or free ``text``; the dose structured or only in ``dosage_text``."""

    drug: str | None = None
    text: str | None = None
    service: str | None = None  # a ServiceRequest drafted beside: a service of supportive.yaml
    dose: float | None = None
    unit: str = "mg"
    frequency: int = 1
    period: float = 1
    period_unit: Literal["h", "d", "wk"] = "d"
    route: Literal["oral", "subcutaneous", "intravenous"] | None = None
    dosage_text: str | None = None

    @model_validator(mode="after")
    def _named(self) -> Draft:
        if sum(x is not None for x in (self.drug, self.text, self.service)) != 1:
            raise ValueError("a draft names one of `drug`, `text` or `service`")
        return self


class Record(_Strict):
    """FHIR R4 resources of one patient (``subject`` is filled in where absent)."""

    patient_id: str = "p1"
    resources: tuple[dict[str, Any], ...]


class Dose(_Strict):
    drug: str
    value: float
    unit: str
    frequency: int | None = None
    period: float | None = None
    period_unit: str | None = None


class Fix(_Strict):
    kind: Literal["delete", "update", "create"]
    drug: str  # the drafted drug deleted / updated, or the drug or service created
    value: float | None = None  # the dose an update sets


class Expect(_Strict):
    """What the service must conclude; every field is optional (checked only when given)."""

    status: str | None = None
    row: str | None = None
    list_row: str | None = None
    options: tuple[str, ...] | None = None  # exactly, recommended first
    recommended: str | None = None
    excluded: dict[str, str] | None = None  # regimen -> the hard rule that removed it, exactly
    modifier: str | None = None  # heart-failure / neuropathy / both / both-cardiac-first / list-order / none
    notes: tuple[str, ...] | None = None  # the treatment notes' checks (cards.yaml notes_when), exactly
    disagreements: int | None = None  # how many source disagreements the treatment card states
    supportive: tuple[str, ...] | None = None  # needs, exactly
    supportive_drugs: tuple[str, ...] | None = None  # drugs created by the supportive-care card, exactly
    doses: tuple[Dose, ...] | None = None  # on the recommended regimen's orders
    cards: tuple[str, ...] | None = None  # card topics, exactly and in order
    indicators: dict[str, str] | None = None  # topic -> indicator
    data_gaps: tuple[str, ...] | None = None  # gap codes, exactly and in order
    salvage_disagreement: bool | None = None
    services: dict[str, tuple[str, ...]] | None = None  # topic -> the services its card proposes, in order
    findings: tuple[str, ...] | None = None  # order checks that fired, in order
    fixes: dict[str, tuple[Fix, ...]] | None = None  # order check -> its fixes, in order
    texts: tuple[str, ...] | None = None  # sentences every one of which some card must contain
    no_texts: tuple[str, ...] | None = None  # sentences no card may contain


class Scenario(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    about: str
    hook: Literal["patient-view", "order-select", "order-sign"] = "patient-view"
    evaluation_date: date = date(2026, 3, 1)
    patient: Patient | None = None
    record: Record | None = None
    drafts: tuple[Draft, ...] = ()
    select: tuple[int, ...] = ()  # order-select: the drafts judged (1-based); default all
    reported_gaps: tuple[dict[str, str], ...] = ()  # handed in by the caller: {kind: ..., values ...}
    expect: Expect

    @model_validator(mode="after")
    def _one_input(self) -> Scenario:
        if (self.patient is None) == (self.record is None):
            raise ValueError("a scenario has either `patient` or `record`")
        if self.hook == "patient-view" and self.drafts:
            raise ValueError("drafts belong to order-select / order-sign scenarios")
        if self.hook != "patient-view" and not self.drafts:
            raise ValueError("an order-hook scenario drafts something")
        return self


class ScenarioFile(_Strict):
    scenarios: tuple[Scenario, ...]


class PersonaHookExpect(BaseModel):
    """A persona's expected cards, in the vocabulary of the acceptance cases (04 §6)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    topics: tuple[str, ...] = ()
    absentTopics: tuple[str, ...] = ()  # noqa: N815 - the acceptance cases' key
    indicators: dict[str, str] = Field(default_factory=dict)
    recommended: tuple[str, ...] | None = None
    forbiddenDrugs: tuple[str, ...] = ()  # noqa: N815
    doses: tuple[dict[str, Any], ...] = ()
    noCards: bool = False  # noqa: N815


class PersonaExpect(_Strict):
    intent: str
    expect: dict[Literal["patient-view", "order-select", "order-sign"], PersonaHookExpect]


class PersonaFile(_Strict):
    personas: dict[str, PersonaExpect]
