"""Property (H1–H6 in every card, not only the treatment decision): for any patient, no
MedicationRequest that any patient-view card would create — regimen alternatives, supportive care
— contains a drug the patient is refractory to (anti-CD38 class-wide, ixazomib after PI-refractory
disease, lenalidomide incl. maintenance), venetoclax without t(11;14), or a withdrawn product.
Drugs are read back from the emitted resources (RxNorm code or text), as the EHR would."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from cds_cards.patient_view import render
from clinical_rules.hard_rules import drug_exclusion
from clinical_rules.kb import load_knowledge_base

from .test_hard_rules_property import patients

KB = load_knowledge_base()
CATALOG = KB.catalog
NEVER = set(KB.hard_rules.withdrawn) | set(KB.hard_rules.not_in_rule_set)


def created_drugs(cards: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for card in cards:
        for suggestion in card.get("suggestions", []):
            for action in suggestion.get("actions", []):
                resource = action.get("resource") or {}
                if resource.get("resourceType") == "MedicationRequest":
                    drugs = CATALOG.identify_concept(resource.get("medicationCodeableConcept"))
                    assert drugs, resource.get("medicationCodeableConcept")  # every order names a known drug
                    found |= {d.generic for d in drugs}
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients())
def test_no_card_suggestion_breaks_a_hard_rule(facts) -> None:
    cards = render(facts, KB)
    drugs = created_drugs(cards)
    assert not drugs & NEVER
    exempt = set(KB.hard_rules.refractory_exempt)
    assert not {d for d in drugs - exempt if drug_exclusion(d, facts, KB) is not None}
    for drug in drugs - exempt:
        assert not facts.is_refractory(drug), drug
