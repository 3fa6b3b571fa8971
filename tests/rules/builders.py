"""Build PatientFacts by clinical intent (no FHIR): a fit 65-year-old at first relapse by default.

    facts = FactsBuilder().prior_lines(2).refractory_to("lenalidomide", "bortezomib").crcl(45).build()

A thin builder over the scenarios' patient (``cds_service.scenarios.models.Patient``), so tests and
the knowledge base's scenarios mean the same patient by the same words.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from cds_service.scenarios.models import Measured, Patient
from cds_service.scenarios.patients import evidence, facts_for
from clinical_rules.kb import load_knowledge_base
from fhir_mappings.facts import PatientFacts

EVALUATION_DATE = date(2026, 3, 1)
__all__ = ["EVALUATION_DATE", "FactsBuilder", "evidence"]


class FactsBuilder:
    def __init__(self) -> None:
        self._fields: dict[str, Any] = {}
        self._overrides: dict[str, Any] = {}

    def _set(self, **fields: Any) -> FactsBuilder:
        self._fields.update(fields)
        return self

    def _add(self, name: str, *values: str) -> FactsBuilder:
        self._fields[name] = tuple(dict.fromkeys((*self._fields.get(name, ()), *values)))
        return self

    # -- intent ----------------------------------------------------------------------------
    def age(self, years: int) -> FactsBuilder:
        return self._set(age=years)

    def female(self) -> FactsBuilder:
        return self._set(sex="female")

    def prior_lines(self, n: int) -> FactsBuilder:
        return self._set(prior_lines=n)

    def refractory_to(self, *drugs: str) -> FactsBuilder:
        return self._add("refractory_to", *drugs)

    def exposed_to(self, *drugs: str) -> FactsBuilder:
        return self._add("exposed_to", *drugs)

    def currently_taking(self, *drugs: str) -> FactsBuilder:
        return self._add("taking", *drugs)

    def crcl(self, ml_min: float) -> FactsBuilder:
        return self._set(crcl=ml_min)

    def on_dialysis(self) -> FactsBuilder:
        return self._set(dialysis=True, crcl=None)

    def no_recent_creatinine(self) -> FactsBuilder:
        return self._set(crcl=None)

    def ecog(self, value: int | None) -> FactsBuilder:
        return self._set(ecog=value)

    def frail(self) -> FactsBuilder:
        return self.ecog(2)

    def with_finding(self, name: str) -> FactsBuilder:
        """name: heart_failure, neuropathy, vte_history, plasma_cell_leukaemia, extramedullary."""
        return self._add("findings", name)

    def cytogenetics(self, **positive: bool) -> FactsBuilder:
        return self._set(cytogenetics=positive)

    def no_cytogenetics(self) -> FactsBuilder:
        return self._set(cytogenetics="none")

    def asct(self, months_to_progression: float | None) -> FactsBuilder:
        return self._set(asct_months="undated" if months_to_progression is None else months_to_progression)

    def not_at_relapse(self) -> FactsBuilder:
        return self._set(status="not-at-relapse")

    def new_line_started(self) -> FactsBuilder:
        return self._set(status="new-line-started")

    def possible_progression(self) -> FactsBuilder:
        return self._set(status="possible-progression")

    def no_myeloma(self) -> FactsBuilder:
        return self._set(status="no-myeloma")

    def no_response_measurements(self) -> FactsBuilder:
        return self._set(response_measurements=False)

    def body(self, height_cm: float | None, weight_kg: float | None) -> FactsBuilder:
        return self._set(height_cm=height_cm, weight_kg=weight_kg)

    def igg(self, mg_dl: float, days_ago: int = 20) -> FactsBuilder:
        return self._set(igg_mg_dl=Measured(value=mg_dl, days_ago=days_ago))

    def lvef(self, percent: float, days_ago: int) -> FactsBuilder:
        return self._set(lvef_percent=Measured(value=percent, days_ago=days_ago))

    def override(self, **fields: Any) -> FactsBuilder:
        self._overrides.update(fields)
        return self

    def copy(self) -> FactsBuilder:
        clone = FactsBuilder()
        clone._fields, clone._overrides = dict(self._fields), dict(self._overrides)
        return clone

    # -- build -----------------------------------------------------------------------------
    def build(self) -> PatientFacts:
        facts = facts_for(Patient(**self._fields), load_knowledge_base(), EVALUATION_DATE)
        return replace(facts, **self._overrides) if self._overrides else facts
