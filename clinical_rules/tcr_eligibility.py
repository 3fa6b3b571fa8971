"""T-cell redirecting therapy eligibility per product (03 §8.1): each product's US label
population (rules.yaml ``referral.products``) judged on the facts, with the facts that make it
hold or the criteria that are missing, and whether BCMA-directed therapy was already given.
Pure: the referral card, the treatment note, the data gaps and the decision trace read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clinical_rules.fact_tests import condition_holds, fact_value, unmet

if TYPE_CHECKING:
    from clinical_rules.kb import KnowledgeBase
    from fhir_mappings.facts import PatientFacts


@dataclass(frozen=True, slots=True)
class ProductEligibility:
    product: str
    kind: str  # car-t | bispecific
    target: str  # BCMA | GPRC5D
    eligible: bool
    criteria: tuple[tuple[str, bool | int], ...]  # the label population's tests, as the KB states them
    missing: tuple[str, ...]  # the tests that do not hold
    after_bcma: bool  # a BCMA product after BCMA-directed therapy: specialist decision
    sources: tuple[str, ...]
    decision: str


@dataclass(frozen=True, slots=True)
class Eligibility:
    products: tuple[ProductEligibility, ...]  # in the order the card lists them
    prior_bcma: tuple[str, ...]  # BCMA-directed drugs on record
    preferred: bool  # T-cell redirecting therapy is the preferred next step (TCR, penta)

    @property
    def eligible(self) -> tuple[ProductEligibility, ...]:
        return tuple(p for p in self.products if p.eligible)

    @property
    def bispecific_eligible(self) -> bool:
        return any(p.kind == "bispecific" for p in self.eligible)


def label_eligibility(facts: PatientFacts, kb: KnowledgeBase) -> Eligibility:
    referral = kb.referral
    bcma = set(referral.bcma_directed)
    prior_bcma = tuple(h.drug for h in facts.drug_histories if h.drug in bcma)
    products = [
        ProductEligibility(
            product=name, kind=product.kind, target=product.target, eligible=condition_holds(product.when, facts),
            criteria=tuple(product.when.items()), missing=unmet(product.when, facts),
            after_bcma=bool(prior_bcma) and product.target == "BCMA", sources=product.sources,
            decision=product.decision,
        )
        for name, product in referral.products.items()
    ]
    if prior_bcma:
        # CAR-T first as listed; among the bispecifics the non-BCMA target (talquetamab) first.
        products.sort(key=lambda p: (p.kind != "car-t", p.kind == "bispecific" and p.target == "BCMA"))
    preferred = any(condition_holds(when, facts) for when in referral.preferred_when)
    return Eligibility(tuple(products), prior_bcma, preferred)


def on_record(name: str, facts: PatientFacts) -> bool | int:
    """The patient's value of one criterion (for "needs ≥ 4 prior lines: 2 on record")."""
    return fact_value(name, facts)
