"""Discovery document (spec 01 §1, §6)."""

from __future__ import annotations

import re

from cds_service.services import render_template

TOKEN = re.compile(r"\{\{([^}]*)\}\}")
REQUIRED_TYPES = {
    "Patient",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
    "Observation",
    "Procedure",
}


def test_discovery_lists_the_three_services(client):
    response = client.get("/cds-services")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    services = {s["id"]: s for s in response.get_json()["services"]}
    assert {sid: s["hook"] for sid, s in services.items()} == {
        "rrmm-relapse-guidance": "patient-view",
        "rrmm-order-select": "order-select",
        "rrmm-order-sign": "order-sign",
    }
    for service in services.values():
        for field in ("title", "description", "usageRequirements"):
            assert isinstance(service[field], str) and service[field].strip()


def test_prefetch_templates_use_only_cds_hooks_2_tokens(client):
    for service in client.get("/cds-services").get_json()["services"]:
        types = set()
        for template in service["prefetch"].values():
            assert not template.startswith(("http", "/"))
            for token in TOKEN.findall(template):
                assert token in {"context.patientId", "userPractitionerId"}, token
            types.add(template.split("?")[0].split("/")[0])
        assert types >= REQUIRED_TYPES


def test_observation_templates_cover_labs_vitals_and_findings(client):
    service = client.get("/cds-services").get_json()["services"][0]
    observation_queries = [t for t in service["prefetch"].values() if t.startswith("Observation?")]
    joined = " ".join(observation_queries)
    assert "category=laboratory" in joined
    assert "category=vital-signs" in joined
    for code in ("97509-4", "72824-6", "89247-1", "10230-1"):
        assert code in joined


def test_no_null_or_empty_values(client):
    def walk(value):
        assert value not in (None, "", [], {})
        if isinstance(value, dict):
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(client.get("/cds-services").get_json())


def test_render_template_fills_context_tokens():
    assert (
        render_template("Condition?patient={{context.patientId}}", {"patientId": "p1"})
        == "Condition?patient=p1"
    )
    assert render_template("Patient/{{context.patientId}}", {}) is None
    assert render_template("Practitioner/{{userPractitionerId}}", {"patientId": "p1"}) is None
