"""Third-party FHIR data through the mapping and the service: the FHIR R4 specification examples
(hl7.fhir.r4.examples@4.0.1) and the mCODE 4.0.0 examples (hl7.fhir.us.mcode@4.0.0), from npm.

Nothing here was written for this service: every resource must map without error, the mCODE
patients' facts must be what their records say, and every example MedicationRequest sent as a
draft order must get an answer (never a 5xx)."""

from __future__ import annotations

import copy
import json
import uuid
from collections import defaultdict
from datetime import date
from typing import Any

import pytest

from cds_service.services import SERVICES
from fhir_mappings import ResourceIndex, build_facts
from fhir_mappings.draft_orders import read_draft_orders
from fhir_mappings.medication import MEDICATION_TYPES, read_medication_record
from fhir_mappings.value_sets import value_sets

pytestmark = pytest.mark.integration
EVALUATION = date(2026, 3, 15)  # tests/conftest.py FIXED_NOW
Named = list[tuple[str, dict[str, Any]]]


def _patient_of(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return resource.get("id")
    for name in ("subject", "patient"):
        ref = resource.get(name)
        text = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(text, str) and text.startswith("Patient/"):
            return text.split("/")[1]
    return None


def _groups(named: Named) -> dict[str | None, list[dict[str, Any]]]:
    """Resources by the patient they name (Bundles alone, under their first Patient)."""
    groups: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for _name, resource in named:
        if resource.get("resourceType") == "Bundle":
            entries = [e.get("resource") for e in resource.get("entry") or () if isinstance(e, dict)]
            patients = [r.get("id") for r in entries if isinstance(r, dict) and r.get("resourceType") == "Patient"]
            groups[f"bundle:{resource.get('id')}:{patients[0] if patients else ''}"].append(resource)
        else:
            groups[_patient_of(resource)].append(resource)
    return groups


def _facts_of_every_group(named: Named):
    facts = {}
    for key, resources in _groups(named).items():
        patient_id = key.rsplit(":", 1)[-1] if isinstance(key, str) and key.startswith("bundle:") else key
        index = ResourceIndex(patient_id or None)
        index.add_any(resources)
        assert index.pre_r4_types() == {}, key  # R4 examples are never taken for DSTU2/STU3
        facts[key] = build_facts(index, patient_id or "unknown", EVALUATION)
    return facts


@pytest.mark.parametrize("package", ["r4_examples", "mcode_examples"])
def test_every_resource_maps_without_error(package, request):
    named: Named = request.getfixturevalue(package)
    assert len(named) > 300
    facts = _facts_of_every_group(named)
    assert facts
    records = [read_medication_record(r) for _n, r in named if r.get("resourceType") in MEDICATION_TYPES]
    assert any(records)  # the examples name drugs the catalogue knows (e.g. cyclophosphamide)
    drafts = read_draft_orders({"resourceType": "Bundle", "entry": [
        {"resource": {**r, "status": "draft"}} for _n, r in named if r.get("resourceType") == "MedicationRequest"]})
    assert drafts


def _mcode_facts(mcode_examples: Named, patient_id: str):
    index = ResourceIndex(patient_id)
    index.add_any([r for _n, r in mcode_examples if r.get("resourceType") != "Bundle"])
    return build_facts(index, patient_id, EVALUATION)


def test_mcode_hypertensive_heart_disease_without_heart_failure_is_not_heart_failure(mcode_examples):
    facts = _mcode_facts(mcode_examples, "cancer-patient-jenny-m")
    assert facts.age is not None and facts.sex == "female"
    assert not facts.heart_failure.present  # SNOMED 77970009 "... without congestive heart failure"
    assert not facts.myeloma.present  # breast cancer


def test_mcode_2018_cyclophosphamide_order_is_not_ongoing(mcode_examples):
    facts = _mcode_facts(mcode_examples, "cancer-patient-jenny-m")
    cyclophosphamide = [e for e in facts.exposures if e.drug == "cyclophosphamide"]
    assert cyclophosphamide and not any(e.ongoing for e in cyclophosphamide)
    assert all(e.end.year == 2018 for e in cyclophosphamide)
    assert any(n.code == "medication-reconciled" and "cyclophosphamide" in n.text for n in facts.notes)
    assert "cyclophosphamide" not in facts.current_drugs()


def test_mcode_chronic_heart_failure_is_heart_failure(mcode_examples):
    facts = _mcode_facts(mcode_examples, "cancer-patient-john-anyperson")
    assert facts.heart_failure.present  # ICD-10-CM I50.32, active


def _order_sign(client, draft: dict[str, Any], patient_id: str) -> int:
    keys = SERVICES["rrmm-order-sign"].prefetch
    prefetch: dict[str, Any] = {k: {"resourceType": "Bundle", "type": "searchset"} for k in keys}
    prefetch["patient"] = {"resourceType": "Patient", "id": patient_id, "gender": "female", "birthDate": "1960-01-01"}
    body = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/pr-1", "patientId": patient_id,
                        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]}},
            "prefetch": prefetch}
    response = client.post("/cds-services/rrmm-order-sign", data=json.dumps(body), content_type="application/json")
    return response.status_code


@pytest.mark.parametrize("package", ["r4_examples", "mcode_examples"])
def test_every_example_medication_request_as_a_draft_order_gets_an_answer(package, request, client):
    named: Named = request.getfixturevalue(package)
    orders = [r for _n, r in named if r.get("resourceType") == "MedicationRequest"]
    assert len(orders) >= 10
    statuses = {}
    for order in orders:
        draft = copy.deepcopy(order)
        draft["status"] = "draft"
        draft["subject"] = {"reference": "Patient/pt-example"}
        statuses[order.get("id")] = _order_sign(client, draft, "pt-example")
    assert {k: v for k, v in statuses.items() if v >= 500} == {}
    assert {k: v for k, v in statuses.items() if v != 200} == {}


def _loinc_displays(named: Named) -> dict[str, set[str]]:
    used: dict[str, set[str]] = defaultdict(set)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            code, display = node.get("code"), node.get("display")
            if isinstance(code, str) and isinstance(display, str) and node.get("system") == "http://loinc.org":
                used[code].add(display.lower())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for _name, resource in named:
        if resource.get("resourceType") not in ("ValueSet", "CodeSystem", "StructureDefinition", "SearchParameter"):
            walk(resource)
    return used


@pytest.mark.parametrize(("package", "source"), [("r4_examples", "HL7 FHIR R4 examples package"),
                                                 ("mcode_examples", "hl7.fhir.us.mcode@4.0.0 examples package")])
def test_value_set_displays_match_the_examples_they_cite(package, source, request):
    """value_sets.json entries citing an examples package carry the display that package uses."""
    used = _loinc_displays(request.getfixturevalue(package))
    claimed = [c for codes in value_sets().analytes.values() for c in codes if c.source.startswith(source)]
    assert claimed
    for code in claimed:
        assert code.code in used, code.code
        assert code.display.lower() in used[code.code], (code.code, code.display, used[code.code])
