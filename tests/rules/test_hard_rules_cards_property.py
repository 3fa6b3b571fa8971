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
from clinical_rules.relapse import decide
from fhir_mappings.terminology import DrugCatalog

from .test_hard_rules_property import patients

KB = load_knowledge_base()
CATALOG = DrugCatalog.default()
NEVER = {"melphalan flufenamide", "panobinostat", "belantamab mafodotin"}


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
    cards = render(decide(facts, KB), facts, KB)
    drugs = created_drugs(cards)
    assert not drugs & NEVER
    excluded = {d for d in drugs if d != "dexamethasone" and drug_exclusion(d, facts, KB) is not None}
    assert not excluded
    for drug in drugs - {"dexamethasone"}:
        assert not facts.is_refractory(drug), drug
    if "venetoclax" in drugs:
        assert facts.t11_14_positive
    if facts.anti_cd38_refractory:
        assert not drugs & {"daratumumab", "isatuximab"}
    if facts.pi_refractory:
        assert "ixazomib" not in drugs
