"""The knowledge base: the YAML files of ``clinical_rules/kb/``, typed, cross-checked, loaded once.

The YAML is the clinician-reviewable source of truth (regimens, doses, rules' parameters, the
derivation windows, supportive care, every card text, the decision log). :func:`load_knowledge_base`
reads it once per directory into the models of :mod:`clinical_rules.kbmodel`, checks every cross
reference, and raises :class:`KnowledgeBaseError` listing each problem by file, entry and field
("rules.yaml: R3.when: unknown fact 'anti_cd38_exposd'") otherwise.

The drug catalogue is the project terminology (``fhir_mappings/data/drugs.json``) plus the
knowledge base's ``drug_additions``; it is built here once and handed to the mapping
(``build_facts(catalog=kb.catalog)``), which never imports the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from clinical_rules.kbmodel import coverage
from clinical_rules.kbmodel.cards import CardTexts
from clinical_rules.kbmodel.common import Coding
from clinical_rules.kbmodel.crossref import already_catalogued, never_suggested, suggestable
from clinical_rules.kbmodel.crossref import problems as cross_reference_problems
from clinical_rules.kbmodel.data_gaps import DataGaps
from clinical_rules.kbmodel.derivation import to_parameters
from clinical_rules.kbmodel.document import KnowledgeBaseDocument
from clinical_rules.kbmodel.doses import DoseTexts, DrugDose, OrderCodings, RouteTerms, TimingTexts
from clinical_rules.kbmodel.facts import FactTexts
from clinical_rules.kbmodel.loading import DocumentError, read_files, report, validate
from clinical_rules.kbmodel.manifest import DecisionLogEntry, Source
from clinical_rules.kbmodel.orders import Link, OrderChecks, OrderTexts
from clinical_rules.kbmodel.regimens import Regimen
from clinical_rules.kbmodel.rules import (
    CardRule,
    HardRules,
    Modifiers,
    Population,
    Referral,
    RelapseWorkup,
    Row,
    SalvageTransplant,
)
from clinical_rules.kbmodel.supportive import SupportiveNeed, SupportiveTexts
from fhir_mappings.parameters import DerivationParameters
from fhir_mappings.terminology import DrugCatalog

KB_DIR = Path(__file__).resolve().parent / "kb"


class KnowledgeBaseError(ValueError):
    """The knowledge base cannot be used; the message says which file, entry and field is wrong."""


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """The loaded knowledge base: the typed document and what is derived from it once."""

    document: KnowledgeBaseDocument
    directory: Path
    catalog: DrugCatalog
    parameters: DerivationParameters
    decisions: Mapping[str, DecisionLogEntry]
    renally_dosed: frozenset[str]  # drugs whose dose has renal bands
    suggestable: frozenset[str]  # regimens some row lists

    # -- sections (the document's, by their YAML name) ----------------------------------------
    @property
    def version(self) -> str:
        return self.document.version

    @property
    def sources(self) -> Mapping[str, Source]:
        return self.document.sources

    @property
    def regimens(self) -> Mapping[str, Regimen]:
        return self.document.regimens

    @property
    def hard_rules(self) -> HardRules:
        return self.document.hard_rules

    @property
    def populations(self) -> Mapping[str, Population]:
        return self.document.populations

    @property
    def modifiers(self) -> Modifiers:
        return self.document.modifiers

    @property
    def rows(self) -> tuple[Row, ...]:
        return self.document.rows

    @property
    def salvage_transplant(self) -> SalvageTransplant:
        return self.document.salvage_transplant

    @property
    def referral(self) -> Referral:
        return self.document.referral

    @property
    def aggressive_disease(self) -> CardRule:
        return self.document.aggressive_disease

    @property
    def relapse_workup(self) -> RelapseWorkup:
        return self.document.relapse_workup

    @property
    def doses(self) -> Mapping[str, DrugDose]:
        return self.document.doses

    @property
    def dose_texts(self) -> DoseTexts:
        return self.document.dose_texts

    @property
    def routes(self) -> Mapping[str, RouteTerms]:
        return self.document.routes

    @property
    def units(self) -> Mapping[str, str]:
        return self.document.units

    @property
    def timing_texts(self) -> TimingTexts:
        return self.document.timing_texts

    @property
    def order_codings(self) -> OrderCodings:
        return self.document.order_codings

    @property
    def supportive_care(self) -> Mapping[str, SupportiveNeed]:
        return self.document.supportive_care

    @property
    def services(self) -> Mapping[str, Coding]:
        return self.document.services

    @property
    def supportive_texts(self) -> SupportiveTexts:
        return self.document.supportive_texts

    @property
    def order_checks(self) -> OrderChecks:
        return self.document.order_checks

    @property
    def order_texts(self) -> OrderTexts:
        return self.document.order_texts

    @property
    def override_reasons(self) -> Mapping[str, str]:
        return self.document.override_reasons

    @property
    def links(self) -> Mapping[str, Link]:
        return self.document.links

    @property
    def cards(self) -> CardTexts:
        return self.document.cards

    @property
    def data_gaps(self) -> DataGaps:
        return self.document.data_gaps

    @property
    def facts(self) -> FactTexts:
        """The wording of every fact (facts.yaml ``fact_texts``)."""
        return self.document.fact_texts

    @property
    def derivation_parameters(self) -> DerivationParameters:
        """The derivation windows and thresholds in force, for ``build_facts(params=...)``."""
        if coverage.active() is not None:
            return _RecordedParameters(self.parameters, self.document.derivation_parameters.kb_path)  # type: ignore[return-value]
        return self.parameters

    @cached_property
    def source_label(self) -> str:
        """``source.label`` of the patient-view (relapse guidance) cards."""
        return self.document.cards.source_label.render(version=self.version)

    @cached_property
    def order_source_label(self) -> str:
        """``source.label`` of the order-select / order-sign cards."""
        return self.document.cards.order_source_label.render(version=self.version)

    # -- lookups -------------------------------------------------------------------------------
    def row(self, row_id: str) -> Row:
        for row in self.document.rows:
            if row.id == row_id:
                return row
        raise KeyError(row_id)

    def classes_of(self, drug: str) -> tuple[str, ...]:
        return self.catalog.get(drug).classes if drug in self.catalog else ()

    def rxnorm_of(self, drug: str) -> str | None:
        return self.catalog.get(drug).rxnorm if drug in self.catalog else None

    def class_members(self, drug_class: str) -> tuple[str, ...]:
        return tuple(d.generic for d in self.catalog.by_class(drug_class))

    def regimen_label(self, regimen_id: str) -> str:
        """"DRd — daratumumab, lenalidomide, dexamethasone"."""
        drugs = ", ".join(self.document.regimens[regimen_id].drugs)
        return self.document.cards.treatment.regimen_label.render(regimen=regimen_id, drugs=drugs)


class _RecordedParameters:
    """The derivation parameters as the coverage check hands them to the mapping: every field the
    mapping reads is recorded against derivation.yaml."""

    def __init__(self, parameters: DerivationParameters, path: str) -> None:
        self._parameters = parameters
        self._path = path

    def __getattr__(self, name: str) -> Any:
        if name == "days":
            return self._days
        self._note(name)
        return getattr(self._parameters, name)

    def _days(self, name: str) -> Any:
        self._note(name)
        return self._parameters.days(name)

    def _note(self, name: str) -> None:
        recorder = coverage.active()
        if recorder is not None:
            recorder.note(self._path, name)


def load_knowledge_base(directory: Path | str | None = None) -> KnowledgeBase:
    """Load, validate and cache the knowledge base (the package's own unless ``directory``)."""
    return _cached(Path(directory).resolve() if directory is not None else KB_DIR)


@lru_cache(maxsize=8)
def _cached(directory: Path) -> KnowledgeBase:
    return build_knowledge_base(directory)


def build_knowledge_base(directory: Path) -> KnowledgeBase:
    """Load the knowledge base of ``directory`` afresh (no cache)."""
    try:
        document = validate(read_files(directory))
        catalog = _catalogue(document)
    except DocumentError as exc:
        raise _error(directory, exc.problems) from None
    problems = [*cross_reference_problems(document, catalog), *never_suggested(document)]
    if problems:
        raise _error(directory, problems)
    with coverage.unrecorded():
        parameters = to_parameters(document.derivation_parameters)
        decisions = {entry.id: entry for entry in document.decision_log}
    return KnowledgeBase(
        document=document,
        directory=directory,
        catalog=catalog,
        parameters=parameters,
        decisions=decisions,
        renally_dosed=frozenset(drug for drug, dose in document.doses.items() if dose.renal),
        suggestable=suggestable(document),
    )


def _catalogue(document: KnowledgeBaseDocument) -> DrugCatalog:
    base = DrugCatalog.default()
    if not document.drug_additions:
        return base
    rows = [
        {"generic": a.generic, "rxnorm": a.rxnorm, "brands": [{"name": b.name, "rxnorm": b.rxnorm} for b in a.brands],
         "synonyms": list(a.synonyms), "classes": list(a.classes), "role": a.role}
        for a in document.drug_additions
    ]
    known = [a.generic for a in document.drug_additions if a.generic in base]
    if known:
        raise DocumentError(already_catalogued(known))
    return DrugCatalog([*base, *DrugCatalog.from_json({"drugs": rows})])


def _error(directory: Path, problems: list[str]) -> KnowledgeBaseError:
    return KnowledgeBaseError(report(directory, problems))
