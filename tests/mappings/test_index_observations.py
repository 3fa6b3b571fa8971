"""The index's one pass over Observations: by code, and those carrying an answer (not a number)."""

from __future__ import annotations

from fhir_mappings.index import ResourceIndex


def _obs(rid: str, *codes: str, **value: object) -> dict:
    return {"resourceType": "Observation", "id": rid, "subject": {"reference": "Patient/p"},
            "code": {"coding": [{"system": "http://loinc.org", "code": c} for c in codes]}, **value}


def test_codes_and_answers_are_indexed_and_rebuilt_after_an_add() -> None:
    index = ResourceIndex("p")
    index.add_any([
        _obs("num", "2160-0", valueQuantity={"value": 1.1, "unit": "mg/dL"}),
        _obs("fish", "72824-6", "72824-6", valueCodeableConcept={"text": "negative"}),
        _obs("panel", "81247-9", component=[{"code": {"text": "del(17p)"}, "valueString": "detected"}]),
        {"resourceType": "Observation", "id": "odd", "code": {"coding": ["not a coding", {"code": 7}]},
         "valueBoolean": True},
    ])
    assert [o["id"] for o in index.observations_with_code("72824-6")] == ["fish"]  # once, not twice
    assert [o["id"] for o in index.observations_with_code("2160-0")] == ["num"]
    assert [o["id"] for o in index.observations_with_answer()] == ["fish", "panel", "odd"]
    index.add(_obs("late", "2160-0", valueString="1.3 mg/dL"))
    assert [o["id"] for o in index.observations_with_code("2160-0")] == ["num", "late"]
    assert [o["id"] for o in index.observations_with_answer()][-1] == "late"
