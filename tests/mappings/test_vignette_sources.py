"""Metamorphic tests on the public vignettes: the same progression told by another source.

A held-out patient may record a progression the public cases compute from labs as a clinician's
disease status or an ICD relapse code on the same day, or send its labs as numeric strings.
Adding a corroborating source on an event's date must not move the event, the lines or the
refractoriness; nothing here asserts a vignette's answer.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_vignette_invariance import CASES, _facts, key_facts

Resources = list[dict[str, Any]]
SNOMED = "http://snomed.info/sct"


def _subject(data: dict[str, Any]) -> dict[str, str]:
    return {"reference": f"Patient/{data['patientId']}"}


def plus_disease_status_on_each_event(data: dict[str, Any], events: list[date]) -> Resources:
    extra = [{
        "resourceType": "Observation", "id": f"added-status-{i}", "status": "final", "subject": _subject(data),
        "code": {"coding": [{"system": "http://loinc.org", "code": "97509-4"}]},
        "effectiveDateTime": when.isoformat(),
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "271299001"}]},
    } for i, when in enumerate(events)]
    return [*data["resources"], *extra]


def plus_icd_relapse_on_latest_event(data: dict[str, Any], events: list[date]) -> Resources:
    relapse = {
        "resourceType": "Condition", "id": "added-relapse", "subject": _subject(data),
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C90.02"}],
                 "text": "Multiple myeloma in relapse"},
        "onsetDateTime": events[-1].isoformat(),
    }
    return [*data["resources"], relapse]


def quantities_as_strings(data: dict[str, Any], _events: list[date]) -> Resources:
    out = copy.deepcopy(data["resources"])
    for resource in out:
        quantity = resource.get("valueQuantity")
        unit = isinstance(quantity, dict) and (quantity.get("unit") or quantity.get("code"))
        if resource.get("resourceType") == "Observation" and unit and isinstance(quantity.get("value"), int | float):
            resource["valueString"] = f"{quantity['value']} {unit}"
            del resource["valueQuantity"]
    return out


TRANSFORMS = {
    "disease-status": plus_disease_status_on_each_event,
    "icd-relapse": plus_icd_relapse_on_latest_event,
    "value-strings": quantities_as_strings,
}


@pytest.mark.skipif(not CASES, reason="public vignettes not available")
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_facts_invariant_under_corroborating_sources(path: Path):
    case = json.loads(path.read_text())
    data = case["data"]
    as_of = date.fromisoformat(case["asOf"])
    original = _facts(data["resources"], data["patientId"], as_of)
    events = [e.date for e in original.progression_events]
    if not events or not original.myeloma.present:
        pytest.skip("no progression to corroborate")
    baseline = key_facts(original)
    for name, transform in TRANSFORMS.items():
        varied = key_facts(_facts(transform(data, events), data["patientId"], as_of))
        assert varied == baseline, name
