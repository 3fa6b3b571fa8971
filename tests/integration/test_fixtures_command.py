"""``rrmm-cds fixtures`` without a FHIR server: what it sends, and how it reports failures."""

from __future__ import annotations

import json

import pytest
import responses

from cds_service import samples
from cds_service.cli import main as rrmm_cds
from cds_service.samples.expectations import problems

BASE = "https://fhir.example.org/r4"


def test_list_names_every_persona(capsys: pytest.CaptureFixture[str]) -> None:
    assert rrmm_cds(["fixtures", "list"]) == 0
    out = capsys.readouterr().out
    assert all(p.id in out and p.patient_id in out for p in samples.personas())


def test_list_json_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert rrmm_cds(["fixtures", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in listed] == [p.id for p in samples.personas()]


@responses.activate
def test_load_posts_put_transactions_in_chunks_with_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    responses.post(BASE, json={"resourceType": "Bundle", "type": "transaction-response"})
    status = rrmm_cds(["fixtures", "load", "--fhir-server", BASE + "/", "--token", "s3cret",
                       "--only", "len-sensitive", "--max-entries", "20", "--date", "2027-01-01"])
    assert status == 0
    persona = samples.persona("len-sensitive")
    expected = samples.bundle(persona, samples.anchor().replace(year=2027, month=1, day=1))["entry"]
    sent = [json.loads(call.request.body) for call in responses.calls]
    assert len(sent) == -(-len(expected) // 20)
    assert [e for body in sent for e in body["entry"]] == expected
    assert all(body["type"] == "transaction" and len(body["entry"]) <= 20 for body in sent)
    assert sent[0]["entry"][0]["resource"]["resourceType"] == "Patient"
    assert all(call.request.headers["Authorization"] == "Bearer s3cret" for call in responses.calls)
    assert "s3cret" not in capsys.readouterr().out


@responses.activate
def test_load_reports_the_servers_outcome_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    responses.post(BASE, status=422, json={"resourceType": "OperationOutcome",
                                           "issue": [{"severity": "error", "code": "invalid",
                                                      "diagnostics": "Observation.status is required"}]})
    assert rrmm_cds(["fixtures", "load", "--fhir-server", BASE, "--only", "no-myeloma"]) == 1
    assert "HTTP 422 Observation.status is required" in capsys.readouterr().err


def test_load_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert rrmm_cds(["fixtures", "load", "--fhir-server", "file:///etc/passwd"]) == 2
    assert rrmm_cds(["fixtures", "load", "--fhir-server", BASE, "--only", "nobody"]) == 2
    assert "unknown persona" in capsys.readouterr().err


def test_request_prints_a_hook_request_for_rrmm_cds_call(capsys: pytest.CaptureFixture[str]) -> None:
    assert rrmm_cds(["fixtures", "request", "heart-failure", "--hook", "order-sign"]) == 0
    request = json.loads(capsys.readouterr().out)
    assert request["hook"] == "order-sign"
    assert request["context"]["patientId"] == "sample-heart-failure"
    assert request["prefetch"]["patient"]["id"] == "sample-heart-failure"
    assert "selections" not in request["context"]


def test_check_runs_every_persona_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert rrmm_cds(["fixtures", "check", "--only", "renal-impairment", "no-myeloma"]) == 0
    out = capsys.readouterr().out
    assert "PASS renal-impairment patient-view" in out and "PASS no-myeloma order-sign" in out


def _card(topic: str, indicator: str = "info", suggestions: list | None = None) -> dict:
    card = {"indicator": indicator, "source": {"topic": {"code": topic}}}
    if suggestions:
        card["suggestions"] = suggestions
    return card


def _regimen(*drugs: str, recommended: bool = True, dose: tuple[str, float] | None = None) -> dict:
    def request(drug: str) -> dict:
        resource = {"resourceType": "MedicationRequest", "medicationCodeableConcept": {"text": drug}}
        if dose and dose[0] == drug:
            resource["dosageInstruction"] = [{"doseAndRate": [{"doseQuantity": {"value": dose[1], "unit": "mg"}}]}]
        return resource

    return {"isRecommended": recommended, "actions": [{"type": "create", "resource": request(d)} for d in drugs]}


def test_problems_names_every_difference() -> None:
    cards = [
        _card("treatment-recommendation", suggestions=[
            _regimen("daratumumab", "lenalidomide", "dexamethasone", dose=("lenalidomide", 25)),
            _regimen("carfilzomib", "lenalidomide", "dexamethasone", recommended=False)]),
        _card("referral", "warning"),
    ]
    expect = {"topics": ["treatment-recommendation", "salvage-transplant"], "absentTopics": ["referral"],
              "indicators": {"referral": "info"}, "recommended": ["daratumumab", "bortezomib", "dexamethasone"],
              "forbiddenDrugs": ["carfilzomib"], "doses": [{"drug": "lenalidomide", "value": 10, "unit": "mg"}]}
    found = problems(cards, expect)
    assert any("missing topic salvage-transplant" in p for p in found)
    assert any("unexpected topic referral" in p for p in found)
    assert any("referral indicator" in p for p in found)
    assert any(p.startswith("recommended") for p in found)
    assert any("forbidden carfilzomib" in p for p in found)
    assert any("lenalidomide dose" in p for p in found)
    assert problems([], {"noCards": True}) == []
    assert problems(cards, {"noCards": True}) != []
