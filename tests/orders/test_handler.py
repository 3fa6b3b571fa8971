"""The order-hook handler seam (cds_service.handlers.order_cards) with odd hook contexts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.handlers import HookContext, order_cards
from clinical_rules.kb import load_knowledge_base
from fhir_mappings.index import ResourceIndex

from .builders import LEN, draft

KB = load_knowledge_base()


def call(hook: str, context: dict[str, Any]) -> list[dict[str, Any]]:
    index = ResourceIndex("p1")
    index.add({"resourceType": "Patient", "id": "p1", "birthDate": "1950-01-01", "gender": "female"})
    # Renal function known (a recent creatinine and weight): these tests are not about the data gap.
    for oid, code, value, unit in (("cr", "2160-0", 0.8, "mg/dL"), ("wt", "29463-7", 80, "kg")):
        index.add({"resourceType": "Observation", "id": oid, "status": "final", "subject": {"reference": "Patient/p1"},
                   "code": {"coding": [{"system": "http://loinc.org", "code": code}]}, "effectiveDateTime": "2025-05-20",
                   "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}})
    return order_cards(HookContext("svc", hook, "p1", date(2025, 6, 1), index, context, KB))


@pytest.mark.parametrize(
    "context",
    [{}, {"draftOrders": None}, {"draftOrders": "x"}, {"draftOrders": {"resourceType": "Bundle"}},
     {"draftOrders": {"resourceType": "Bundle", "entry": []}, "selections": {"a": 1}},
     {"draftOrders": [draft("d", LEN, 25)], "selections": ["MedicationRequest/other"]},
     {"draftOrders": [draft("d", "metformin", 500)]}],
)
def test_nothing_to_judge_gives_no_cards(context: dict[str, Any]) -> None:
    assert call("order-select", context) == []


def test_order_select_without_usable_selections_judges_every_draft() -> None:
    cards = call("order-select", {"draftOrders": [draft("d", LEN, 25)], "selections": "MedicationRequest/d"})
    assert {c["source"]["topic"]["code"] for c in cards} == {"supportive-care"}  # aspirin for the IMiD


def test_order_sign_ignores_selections() -> None:
    context = {"draftOrders": [draft("d", LEN, 25)], "selections": ["MedicationRequest/other"]}
    assert call("order-sign", context)


def test_order_cards_name_the_order_checks_and_the_kb_version() -> None:
    cards = call("order-sign", {"draftOrders": [draft("d", LEN, 25)]})
    assert cards
    assert {c["source"]["label"] for c in cards} == {f"RRMM order checks · KB {KB.version}"}
