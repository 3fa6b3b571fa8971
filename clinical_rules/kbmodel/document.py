"""The whole knowledge base as one typed document, and which YAML file holds which section."""

from collections.abc import Mapping
from typing import Any

from clinical_rules.kbmodel.base import KBModel, Table
from clinical_rules.kbmodel.cards import CardTexts
from clinical_rules.kbmodel.common import Coding, Name
from clinical_rules.kbmodel.data_gaps import DataGaps
from clinical_rules.kbmodel.derivation import DerivationSection
from clinical_rules.kbmodel.doses import DoseTexts, DrugDose, OrderCodings, RouteTerms, TimingTexts
from clinical_rules.kbmodel.facts import FactTexts
from clinical_rules.kbmodel.manifest import DecisionLog, DrugAddition, Source, Version
from clinical_rules.kbmodel.orders import Links, OrderChecks, OrderTexts, OverrideReasons
from clinical_rules.kbmodel.regimens import Regimen
from clinical_rules.kbmodel.rules import (
    CardRule,
    HardRules,
    Modifiers,
    Population,
    Referral,
    RelapseWorkup,
    Rows,
    SalvageTransplant,
)
from clinical_rules.kbmodel.supportive import SupportiveNeed, SupportiveTexts

# file -> its top-level keys: the structure of the knowledge base, one section per key.
FILES: Mapping[str, tuple[str, ...]] = {
    "manifest.yaml": ("version", "title", "sources"),
    "drugs.yaml": ("drug_additions",),
    "regimens.yaml": ("regimens",),
    "rules.yaml": ("hard_rules", "populations", "modifiers", "rows", "salvage_transplant", "referral",
                   "aggressive_disease", "relapse_workup"),
    "derivation.yaml": ("derivation_parameters",),
    "doses.yaml": ("doses", "dose_texts", "routes", "units", "timing_texts", "order_codings"),
    "supportive.yaml": ("supportive_care", "services", "supportive_texts"),
    "order_checks.yaml": ("order_checks", "order_texts", "override_reasons", "links"),
    "cards.yaml": ("cards",),
    "facts.yaml": ("fact_texts",),
    "data_gaps.yaml": ("data_gaps",),
    "decision_log.yaml": ("decision_log",),
}
FILE_OF: Mapping[str, str] = {key: name for name, keys in FILES.items() for key in keys}


class KnowledgeBaseDocument(KBModel):
    version: Version
    title: Name
    sources: Table[Source]
    drug_additions: tuple[DrugAddition, ...]
    regimens: Table[Regimen]
    hard_rules: HardRules
    populations: Table[Population]
    modifiers: Modifiers
    rows: Rows
    salvage_transplant: SalvageTransplant
    referral: Referral
    aggressive_disease: CardRule
    relapse_workup: RelapseWorkup
    derivation_parameters: DerivationSection  # type: ignore[valid-type]
    doses: Table[DrugDose]
    dose_texts: DoseTexts
    routes: Table[RouteTerms]
    units: Table[Name]
    timing_texts: TimingTexts
    order_codings: OrderCodings
    supportive_care: Table[SupportiveNeed]
    services: Table[Coding]
    supportive_texts: SupportiveTexts
    order_checks: OrderChecks
    order_texts: OrderTexts
    override_reasons: OverrideReasons
    links: Links
    cards: CardTexts
    fact_texts: FactTexts
    data_gaps: DataGaps
    decision_log: DecisionLog


def template_namespace(document: KnowledgeBaseDocument) -> dict[str, Any]:
    """What a text's {section.field} placeholders may name (templates.KB_ROOTS)."""
    from clinical_rules.kbmodel.templates import KB_ROOTS

    return {root: document.__dict__[root] for root in KB_ROOTS}
