"""No order-hook response ever suggests a drug the patient is refractory to (H1/H2), whatever is
drafted: property-based over refractoriness patterns and drafted combinations, and over every
public order-hook vignette run through the real mapping (build_facts)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.handlers import HookContext, order_cards
from clinical_rules.hard_rules import drug_exclusion
from clinical_rules.kb import load_knowledge_base
from fhir_mappings import build_facts
from fhir_mappings.facts import Finding
from fhir_mappings.index import ResourceIndex

from .builders import draft, facts, measurement, refractory_to, renal, t11_14

KB = load_knowledge_base()
CATALOG = KB.catalog
VIGNETTES = Path("/work/shared/vignettes/public")
ANTIMYELOMA = ["lenalidomide", "pomalidomide", "thalidomide", "bortezomib", "carfilzomib", "ixazomib",
               "daratumumab", "isatuximab", "elotuzumab", "selinexor", "venetoclax", "cyclophosphamide"]
DRAFTABLE = [*ANTIMYELOMA, "dexamethasone", "aspirin", "acyclovir", "melphalan flufenamide"]


def suggested_drugs(cards: list[dict[str, Any]]) -> set[str]:
    """Drugs of every MedicationRequest a card would create or update (deletes remove drugs)."""
    found: set[str] = set()
    for card in cards:
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                resource = action.get("resource") or {}
                if resource.get("resourceType") == "MedicationRequest":
                    found |= {d.generic for d in CATALOG.identify_concept(resource.get("medicationCodeableConcept"))}
    return found


def named_in_labels(cards: list[dict[str, Any]]) -> str:
    return " ".join(s["label"] for c in cards for s in c.get("suggestions", []))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    refractory=st.sets(st.sampled_from(ANTIMYELOMA), max_size=5),
    drafted=st.lists(st.sampled_from(DRAFTABLE), min_size=1, max_size=5, unique=True),
    crcl=st.sampled_from([10.0, 20.0, 45.0, 90.0]),
    age=st.sampled_from([60, 79, 82]),
    neuropathy=st.booleans(),
    t1114=st.booleans(),
    hook=st.sampled_from(["order-sign", "order-select"]),
)
def test_never_suggests_a_refractory_drug(refractory: set[str], drafted: list[str], crcl: float, age: int,
                                          neuropathy: bool, t1114: bool, hook: str) -> None:
    patient = facts(
        drug_histories=tuple(refractory_to(d) for d in sorted(refractory)),
        lenalidomide_refractory="lenalidomide" in refractory,
        imid_refractory=bool(refractory & {"lenalidomide", "pomalidomide", "thalidomide"}),
        pi_refractory=bool(refractory & {"bortezomib", "carfilzomib", "ixazomib"}),
        anti_cd38_exposed=bool(refractory & {"daratumumab", "isatuximab"}),
        anti_cd38_refractory=bool(refractory & {"daratumumab", "isatuximab"}),
        renal=renal(crcl), age=age, frail=age >= 80, neuropathy=Finding(neuropathy),
        cytogenetics=(t11_14(t1114),), t11_14_positive=t1114, ecog=measurement(1, "{score}"),
    )
    drafts = [draft(f"d{i}", name, 10, route="IV" if name == "bortezomib" else None) for i, name in enumerate(drafted)]
    context = {"draftOrders": {"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]},
               "selections": [f"MedicationRequest/d{i}" for i in range(0, len(drafts), 2)]}
    ctx = HookContext("svc", hook, "p1", patient.evaluation_date, ResourceIndex("p1"), context, KB)
    cards = _cards_with_facts(ctx, patient)
    excluded = {d for d in ANTIMYELOMA + ["melphalan flufenamide"] if drug_exclusion(d, patient, KB)}
    assert not suggested_drugs(cards) & excluded
    labels = named_in_labels(cards)
    for drug in excluded & refractory:
        assert f"instead: {drug}" not in labels


def _cards_with_facts(ctx: HookContext, patient: Any) -> list[dict[str, Any]]:
    """order_cards with the facts injected (the handler builds them from the index otherwise)."""
    with mock.patch("cds_service.handlers.build_facts", return_value=patient):
        return order_cards(ctx)


ORDER_CASES = sorted(p for p in VIGNETTES.glob("os*.json")) if VIGNETTES.is_dir() else []


@pytest.mark.skipif(not ORDER_CASES, reason="public vignettes not available")
@pytest.mark.parametrize("path", ORDER_CASES, ids=lambda p: p.stem)
def test_public_order_vignettes_never_suggest_refractory_drugs(path: Path) -> None:
    case = json.loads(path.read_text())
    data = case["data"]
    index = ResourceIndex(data["patientId"])
    index.add_any(data["resources"])
    evaluation_date = date.fromisoformat(case["asOf"])
    ctx = HookContext("svc", case["hook"], data["patientId"], evaluation_date, index, data["context"], KB)
    cards = order_cards(ctx)
    patient = build_facts(index, data["patientId"], evaluation_date)
    refractory = {h.drug for h in patient.drug_histories if h.refractory}
    excluded = {d for d in refractory | set(ANTIMYELOMA) if drug_exclusion(d, patient, KB)}
    assert not suggested_drugs(cards) & excluded
