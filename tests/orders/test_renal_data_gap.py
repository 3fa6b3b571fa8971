"""A renally dosed drug drafted without recent renal function (03 §3, 02 §2.8, 04 §5; D36), through
HTTP as an EHR calls it: FHIR R4 prefetch, order-select / order-sign, the cards read back. No
creatinine, or only an old one, is a warning data-gap card naming the drug, what is missing (the
old value's date) and what to do; a recent creatinine is no card; the dose check is unchanged."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from card_text import problems
from helpers import assert_valid_cds_response

from cds_service.app import create_app

PATIENT = "rn1"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SERVICE = {"order-select": "rrmm-order-select", "order-sign": "rrmm-order-sign"}


@pytest.fixture
def client(test_settings, fixed_clock):  # evaluation date 2026-03-15 (FIXED_NOW)
    return create_app(test_settings, clock=fixed_clock).test_client()


def _subject() -> dict[str, str]:
    return {"reference": f"Patient/{PATIENT}"}


def lab(rid: str, code: str, value: float, unit: str, when: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", "subject": _subject(),
            "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}


def creatinine(when: str, value: float = 0.9) -> dict[str, Any]:
    return lab(f"creat-{when}", "2160-0", value, "mg/dL", when)


WEIGHT = lab("wt", "29463-7", 78, "kg", "2026-03-01")
ASPIRIN = {"resourceType": "MedicationStatement", "id": "asa", "status": "active", "subject": _subject(),
           "medicationCodeableConcept": {"text": "aspirin"}, "effectivePeriod": {"start": "2025-01-01"}}


def draft(rid: str, code: str, name: str, value: float, per_week: bool = False) -> dict[str, Any]:
    timing = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk" if per_week else "d"}}
    return {"resourceType": "MedicationRequest", "id": rid, "status": "draft", "intent": "order", "subject": _subject(),
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": name}], "text": name},
            "dosageInstruction": [{"timing": timing, "doseAndRate": [{"doseQuantity": {
                "value": value, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}]}


# Lenalidomide 25 mg daily (the standard starting dose) with dexamethasone; aspirin already taken.
LENALIDOMIDE = draft("len", "342369", "lenalidomide", 25)
DEXAMETHASONE = draft("dex", "3264", "dexamethasone", 40, per_week=True)


def request(hook: str, labs: list[dict[str, Any]], selections: list[str] | None = None) -> dict[str, Any]:
    """A whole CDS Hooks request: a 64-year-old man with myeloma, ``labs``, aspirin, two drafts."""
    def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}

    context: dict[str, Any] = {
        "userId": "Practitioner/pr-1", "patientId": PATIENT,
        "draftOrders": {"resourceType": "Bundle", "type": "collection",
                        "entry": [{"resource": LENALIDOMIDE}, {"resource": DEXAMETHASONE}]}}
    if selections is not None:
        context["selections"] = selections
    empty = bundle()
    prefetch = {
        "patient": {"resourceType": "Patient", "id": PATIENT, "birthDate": "1961-06-01", "gender": "male"},
        "conditions": bundle({"resourceType": "Condition", "id": "mm", "code": {"text": "Multiple myeloma"},
                              "subject": _subject()}),
        "medicationStatements": bundle(ASPIRIN), "medicationRequests": empty, "medicationAdministrations": empty,
        "medicationDispenses": empty, "labObservations": bundle(*labs), "vitalSigns": bundle(WEIGHT),
        "findingObservations": empty, "procedures": empty, "diagnosticReports": empty,
    }
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": prefetch}


def cards_for(client, hook: str, labs: list[dict[str, Any]], selections: list[str] | None = None) -> list[dict]:
    response = client.post(f"/cds-services/{SERVICE[hook]}", json=request(hook, labs, selections))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert_valid_cds_response(body)
    assert problems(body["cards"], hook) == []  # short, no internal codes in sentences, KB version named
    return body["cards"]


def gap_cards(cards: list[dict]) -> list[dict]:
    return [c for c in cards if c["source"]["topic"]["code"] == "data-gap"]


def test_order_select_without_any_creatinine_gives_the_data_gap_card(client) -> None:
    cards = cards_for(client, "order-select", [], selections=["MedicationRequest/len"])
    (gap,) = gap_cards(cards)
    assert gap["indicator"] == "warning"  # it blocks dosing (04 §5)
    assert gap["summary"] == "Missing data for the order checks: recent creatinine for lenalidomide"
    assert "Lenalidomide drafted: no creatinine, eGFR or measured CrCl on file" in gap["detail"]
    assert "Order a serum creatinine (and record a current weight) before confirming the lenalidomide dose." \
        in gap["detail"]
    assert {r["code"] for r in gap["overrideReasons"]} >= {"renal-function-improved"}
    provenance = gap["extension"]["org.rrmm-cds.provenance"]
    assert provenance["ruleIds"] == ["DATA-GAP", "DOSE-LAB-RENAL", "D36"] and provenance["kbVersion"] == "2026.2"
    assert "label" in provenance["sources"]
    # The dose check is unchanged: 25 mg is the standard starting dose, so no dose card.
    assert "dose-adjustment" not in {c["source"]["topic"]["code"] for c in cards}


def test_order_select_with_a_recent_creatinine_gives_no_data_gap_card(client) -> None:
    cards = cards_for(client, "order-select", [creatinine("2026-02-20")], selections=["MedicationRequest/len"])
    assert gap_cards(cards) == []


def test_a_stale_creatinine_is_named_with_its_date(client) -> None:
    # 2025-11-01 is 134 days before the evaluation date: older than the 90-day window.
    cards = cards_for(client, "order-select", [creatinine("2025-11-01", 1.6), creatinine("2025-06-01")],
                      selections=["MedicationRequest/len"])
    (gap,) = gap_cards(cards)
    assert gap["indicator"] == "warning"
    assert "Lenalidomide drafted: the last creatinine is from 2025-11-01, more than 90 days ago" in gap["detail"]
    assert "creatinine 1.60 mg/dL (2025-11-01)" in gap["detail"]  # the value, among the facts used
    facts = gap["extension"]["org.rrmm-cds.provenance"]["facts"]
    assert facts == [{"fact": "creatinine 1.60 mg/dL (2025-11-01)", "references": ["Observation/creat-2025-11-01"]}]


def test_a_stale_creatinine_still_judges_the_dose_against_the_standard_dose(client) -> None:
    """The stale value is never used as if it were current: it would put a CrCl of about 45 mL/min
    (1.6 mg/dL) on this patient and ask for 10 mg."""
    cards = cards_for(client, "order-sign", [creatinine("2025-11-01", 1.6)])
    assert "dose-adjustment" not in {c["source"]["topic"]["code"] for c in cards}
    assert len(gap_cards(cards)) == 1


def test_order_sign_without_creatinine_gives_the_data_gap_card(client) -> None:
    cards = cards_for(client, "order-sign", [])
    (gap,) = gap_cards(cards)
    assert gap["indicator"] == "warning" and "Lenalidomide drafted" in gap["detail"]


def test_order_sign_with_a_recent_creatinine_gives_no_data_gap_card(client) -> None:
    assert gap_cards(cards_for(client, "order-sign", [creatinine("2026-03-01")])) == []


def test_order_select_of_dexamethasone_alone_asks_nothing_about_lenalidomide(client) -> None:
    """order-select judges the selected order: dexamethasone's dose needs no creatinine."""
    cards = cards_for(client, "order-select", [], selections=["MedicationRequest/dex"])
    assert gap_cards(cards) == []


def test_a_failing_dose_lab_reader_costs_only_its_own_gaps(client, monkeypatch, caplog) -> None:
    """A bug in the dose-lab reader is logged (its type only) and the call still answers: the dose
    checks and the rest of the data-gap card are given, never a 500."""
    import clinical_rules.patient_view.data_gaps as data_gaps

    def broken(*_args: object) -> list:
        raise KeyError("creatinine for patient rn1")

    monkeypatch.setattr(data_gaps, "dose_lab_gaps", broken)
    cards = cards_for(client, "order-sign", [])  # 200, a valid response (asserted there)
    assert gap_cards(cards) == []
    failed = [r for r in caplog.records if getattr(r, "event", None) == "rule_family_error"]
    assert [(r.family, r.error_type) for r in failed] == [("dose-labs", "KeyError")]
    assert "rn1" not in caplog.text
    # The dose check still runs: a 25 mg draft against a CrCl of about 45 mL/min is a dose card.
    dosed = cards_for(client, "order-sign", [creatinine("2026-03-01", 1.6)])
    assert "dose-adjustment" in {c["source"]["topic"]["code"] for c in dosed}
