"""KB 2026.2 (03 §8) end to end through HTTP: FHIR R4 records as prefetch, CDS Hooks requests to
the app, the cards read back as an EHR would. T-cell redirecting therapy by label (cilta-cel at a
lenalidomide-refractory first relapse: info, after the treatment card; triple-class refractory:
warning, first), BVd where its label population holds (with heart failure too), its eye
examination in patient-view and in order-select / order-sign (not when one is drafted beside),
Pneumocystis prophylaxis for an infusional combination not named DCEP, the IgG data gap of a
drafted bispecific, and selinexor on dialysis."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from card_text import problems

from cds_service.app import create_app
from cds_service.services import SERVICES

PATIENT = "kb22"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
EYE_EXAM = "36228007"
OBSERVATION_KEYS = ("labObservations", "vitalSigns", "findingObservations")


@pytest.fixture
def client(test_settings, fixed_clock):  # the evaluation date is FIXED_NOW (2026-03-15)
    return create_app(test_settings, clock=fixed_clock).test_client()


# -- a patient's record ---------------------------------------------------------------------------
def _subject() -> dict[str, str]:
    return {"reference": f"Patient/{PATIENT}"}


def drug(rid: str, name: str, start: str, end: str | None = None) -> dict[str, Any]:
    period = {"start": start, **({"end": end} if end else {})}
    return {"resourceType": "MedicationStatement", "id": rid, "status": "completed" if end else "active",
            "medicationCodeableConcept": {"text": name}, "effectivePeriod": period, "subject": _subject()}


def progressed(rid: str, when: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "97509-4"}]},
            "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "271299001"}]},
            "effectiveDateTime": when, "subject": _subject()}


def measured(rid: str, code: str, value: float, unit: str, when: str = "2026-03-01") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": unit}, "effectiveDateTime": when, "subject": _subject()}


def condition(rid: str, text: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": rid, "code": {"text": text}, "subject": _subject(),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]}}


def record(*resources: dict[str, Any]) -> list[dict[str, Any]]:
    """A 64-year-old with myeloma, FISH standard risk, creatinine, weight, height, ECOG 1."""
    return [
        {"resourceType": "Patient", "id": PATIENT, "birthDate": "1961-06-01", "gender": "male"},
        condition("mm", "Multiple myeloma"),
        measured("creat", "2160-0", 0.9, "mg/dL"), measured("wt", "29463-7", 78, "kg"),
        measured("ht", "8302-2", 176, "cm"), measured("ecog", "89247-1", 1, "{score}"),
        {"resourceType": "Observation", "id": "fish", "status": "final", "code": {"coding": [{"system": LOINC, "code": "72824-6"}]},
         "valueCodeableConcept": {"text": "negative"}, "effectiveDateTime": "2021-01-05", "subject": _subject()},
        *resources,
    ]


LENALIDOMIDE_REFRACTORY_FIRST_RELAPSE = (  # VRd, lenalidomide continued, progression on it
    drug("v1", "bortezomib", "2022-01-01", "2022-08-01"), drug("r1", "lenalidomide", "2022-01-01"),
    drug("d1", "dexamethasone", "2022-01-01", "2022-08-01"), progressed("pd1", "2026-02-01"),
)
TRIPLE_CLASS_REFRACTORY = (  # VRd (progression on lenalidomide), then DKd (progression on it)
    drug("v1", "bortezomib", "2021-01-01", "2021-06-01"), drug("r1", "lenalidomide", "2021-01-01", "2022-06-01"),
    progressed("pd1", "2022-06-15"),
    drug("dara", "daratumumab", "2022-07-01", "2026-01-20"), drug("k2", "carfilzomib", "2022-07-01", "2026-01-20"),
    progressed("pd2", "2026-02-01"),
)
BVD_IN_LABEL = (  # VRd -> lenalidomide (progression on it), then DPd (progression on it): L = 2, bortezomib-sensitive
    drug("v1", "bortezomib", "2021-01-01", "2021-09-01"), drug("r1", "lenalidomide", "2021-01-01", "2023-06-01"),
    progressed("pd1", "2023-06-10"),
    drug("dara", "daratumumab", "2023-07-01"), drug("pom", "pomalidomide", "2023-07-01"), progressed("pd2", "2026-02-01"),
)


def hook_call(client, hook: str, resources: list[dict[str, Any]], drafts: list[dict[str, Any]] = (),
              selections: list[str] | None = None) -> list[dict[str, Any]]:
    service = next(s for s in SERVICES.values() if s.hook == hook)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    keys = {"conditions": "Condition", "medicationStatements": "MedicationStatement",
            "medicationRequests": "MedicationRequest", "medicationAdministrations": "MedicationAdministration",
            "medicationDispenses": "MedicationDispense", "procedures": "Procedure",
            "diagnosticReports": "DiagnosticReport", **dict.fromkeys(OBSERVATION_KEYS, "Observation")}
    prefetch: dict[str, Any] = {"patient": by_type["Patient"][0]}
    for key in service.prefetch:
        if key in keys:
            found = by_type.get(keys[key], [])
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in found]} \
                if found else None
    context: dict[str, Any] = {"userId": "Practitioner/pr-1", "patientId": PATIENT}
    if hook != "patient-view":
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": d} for d in drafts]}
    if selections is not None:
        context["selections"] = selections
    response = client.post(f"/cds-services/{service.id}", json={
        "hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": prefetch})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    cards = response.get_json()["cards"]
    assert problems(cards, hook) == []  # short, no internal codes in sentences, KB version named
    assert all(card["source"]["label"].endswith("KB 2026.2") for card in cards)
    return cards


def draft(rid: str, name: str, value: float, unit: str = "mg", route: str | None = None) -> dict[str, Any]:
    dosage: dict[str, Any] = {"doseAndRate": [{"doseQuantity": {"value": value, "unit": unit}}]}
    if route:
        dosage["route"] = {"text": route}
    return {"resourceType": "MedicationRequest", "id": rid, "status": "draft", "intent": "order", "subject": _subject(),
            "medicationCodeableConcept": {"text": name}, "dosageInstruction": [dosage]}


def topics(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def card_of(cards: list[dict[str, Any]], topic: str) -> dict[str, Any]:
    return next(c for c in cards if c["source"]["topic"]["code"] == topic)


def created(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["resource"] for s in card.get("suggestions", []) for a in s.get("actions", []) if "resource" in a]


def medication_names(card: dict[str, Any]) -> set[str]:
    return {r["medicationCodeableConcept"]["text"] for r in created(card) if r["resourceType"] == "MedicationRequest"}


def recommended_drugs(cards: list[dict[str, Any]]) -> set[str]:
    treatment = card_of(cards, "treatment-recommendation")
    (chosen,) = [s for s in treatment["suggestions"] if s.get("isRecommended")]
    return {a["resource"]["medicationCodeableConcept"]["text"] for a in chosen["actions"]}


# -- 8.1 T-cell redirecting therapy ------------------------------------------------------------------
def test_lenalidomide_refractory_first_relapse_gets_an_info_cilta_cel_referral_after_the_regimen(client):
    cards = hook_call(client, "patient-view", record(*LENALIDOMIDE_REFRACTORY_FIRST_RELAPSE))
    assert recommended_drugs(cards) == {"daratumumab", "bortezomib", "dexamethasone"}  # R5, DVd
    referral = card_of(cards, "referral")
    assert referral["indicator"] == "info"
    assert topics(cards).index("treatment-recommendation") < topics(cards).index("referral")
    assert "ciltacabtagene autoleucel" in referral["detail"] and "CARTITUDE-4" in referral["detail"]
    assert "idecabtagene" not in referral["detail"].split("*Rule")[0]  # needs 2 lines and an anti-CD38
    assert {r["resourceType"] for r in created(referral)} == {"ServiceRequest"}  # referrals only


def test_triple_class_refractory_gets_the_referral_warning_first_and_the_regimen_as_a_bridge(client):
    cards = hook_call(client, "patient-view", record(*TRIPLE_CLASS_REFRACTORY))
    assert topics(cards)[0] == "referral"
    referral = card_of(cards, "referral")
    assert referral["indicator"] == "warning" and referral["overrideReasons"]
    assert "idecabtagene vicleucel" in referral["detail"] and "ciltacabtagene autoleucel" in referral["detail"]
    assert "as a bridge" in card_of(cards, "treatment-recommendation")["detail"]
    cell_therapy = {"ciltacabtagene autoleucel", "idecabtagene vicleucel", "teclistamab", "elranatamab",
                    "linvoseltamab", "talquetamab"}
    assert not any(medication_names(card) & cell_therapy for card in cards)  # never drug orders


# -- 8.2 BVd --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("heart_failure", [False, True])
def test_bvd_recommended_in_its_label_population_with_doses_and_the_eye_examination(client, heart_failure):
    extra = (condition("hf", "Heart failure"),) if heart_failure else ()
    cards = hook_call(client, "patient-view", record(*BVD_IN_LABEL, *extra))
    assert recommended_drugs(cards) == {"belantamab mafodotin", "bortezomib", "dexamethasone"}
    treatment = card_of(cards, "treatment-recommendation")
    (chosen,) = [s for s in treatment["suggestions"] if s.get("isRecommended")]
    doses = {a["resource"]["medicationCodeableConcept"]["text"]: a["resource"]["dosageInstruction"][0]["doseAndRate"][0]
             ["doseQuantity"] for a in chosen["actions"]}
    assert (doses["belantamab mafodotin"]["value"], doses["belantamab mafodotin"]["code"]) == (2.5, "mg/kg")
    assert (doses["bortezomib"]["value"], doses["dexamethasone"]["value"]) == (1.3, 20)
    assert "DREAMM-7" in treatment["detail"]
    supportive = card_of(cards, "supportive-care")
    codes = {c["code"] for r in created(supportive) if r["resourceType"] == "ServiceRequest" for c in r["code"]["coding"]}
    assert EYE_EXAM in codes
    assert medication_names(supportive) & {"acyclovir", "valacyclovir"}  # zoster prophylaxis from bortezomib


def test_bvd_is_not_offered_to_a_bortezomib_refractory_patient(client):
    # VRd with progression on bortezomib and lenalidomide, then DPd stopped without progression:
    # R3 (lenalidomide-refractory, anti-CD38 exposed), two lines, but bortezomib-refractory.
    refractory = (drug("v1", "bortezomib", "2021-01-01", "2023-06-01"), drug("r1", "lenalidomide", "2021-01-01", "2023-06-01"),
                  progressed("pd1", "2023-06-10"), drug("dara", "daratumumab", "2023-07-01", "2025-06-01"),
                  drug("pom", "pomalidomide", "2023-07-01", "2025-06-01"), progressed("pd2", "2026-02-01"))
    cards = hook_call(client, "patient-view", record(*refractory))
    assert recommended_drugs(cards) == {"carfilzomib", "pomalidomide", "dexamethasone"}  # KPd
    treatment = card_of(cards, "treatment-recommendation")
    offered = {a["resource"]["medicationCodeableConcept"]["text"] for s in treatment["suggestions"] for a in s["actions"]}
    assert "belantamab mafodotin" not in offered and "bortezomib" not in offered


BVD_DRAFTS = [draft("bela", "belantamab mafodotin", 2.5, "mg/kg", "intravenous"),
              draft("bort", "bortezomib", 1.3, "mg/m2", "subcutaneous"), draft("dex", "dexamethasone", 20)]


def test_order_select_of_belantamab_asks_for_the_eye_examination(client):
    cards = hook_call(client, "order-select", record(*BVD_IN_LABEL, drug("vala", "valacyclovir", "2025-01-01")),
                      BVD_DRAFTS, selections=["MedicationRequest/bela"])
    assert topics(cards) == ["supportive-care"]
    (service,) = created(cards[0])
    assert service["resourceType"] == "ServiceRequest" and service["code"]["coding"][0]["code"] == EYE_EXAM
    assert service["code"]["text"]


def test_order_sign_with_an_eye_examination_drafted_beside_is_silent(client):
    eye = {"resourceType": "ServiceRequest", "id": "eye", "status": "draft", "intent": "order", "subject": _subject(),
           "code": {"coding": [{"system": SNOMED, "code": EYE_EXAM}], "text": "Eye examination"}}
    cards = hook_call(client, "order-sign", record(*BVD_IN_LABEL, drug("vala", "valacyclovir", "2025-01-01")),
                      [*BVD_DRAFTS, eye])
    assert cards == []


# -- 8.4 the smaller gaps --------------------------------------------------------------------------------
def test_an_infusional_combination_not_named_dcep_gets_pneumocystis_prophylaxis(client):
    drafts = [draft("bort", "bortezomib", 1.3, "mg/m2", "subcutaneous"), draft("doxo", "doxorubicin", 9, "mg/m2"),
              draft("dex", "dexamethasone", 40)]
    cards = hook_call(client, "order-sign", record(*TRIPLE_CLASS_REFRACTORY, drug("vala", "valacyclovir", "2025-01-01")),
                      drafts)
    assert topics(cards) == ["supportive-care"]
    assert medication_names(cards[0]) == {"sulfamethoxazole-trimethoprim"}


@pytest.mark.parametrize(("igg", "expected"), [(None, "data-gap"), (320, "immune globulin")])
def test_a_bispecific_drafted_without_an_igg_asks_for_one_and_with_a_low_igg_replaces_it(client, igg, expected):
    extra = (measured("igg", "2465-3", igg, "mg/dL"),) if igg is not None else ()
    cards = hook_call(client, "order-sign", record(*TRIPLE_CLASS_REFRACTORY, *extra),
                      [draft("tec", "teclistamab", 1.5, "mg/kg")])
    if expected == "data-gap":
        gap = card_of(cards, "data-gap")
        assert "Measure IgG before the first dose" in gap["detail"]
        assert not any("immune globulin" in medication_names(c) for c in cards)
    else:
        assert "data-gap" not in topics(cards)
        assert any("immune globulin" in medication_names(c) for c in cards)


def test_selinexor_drafted_on_dialysis_carries_the_label_caution(client):
    drafts = [draft("sel", "selinexor", 100), draft("bort", "bortezomib", 1.3, "mg/m2", "subcutaneous"),
              draft("dex", "dexamethasone", 20)]
    cards = hook_call(client, "order-sign", record(*TRIPLE_CLASS_REFRACTORY, condition("esrd", "End stage renal disease on dialysis"),
                                                   drug("acv", "acyclovir", "2025-01-01")), drafts)
    antiemetic = next(c for c in cards if "ondansetron" in medication_names(c))
    assert "not studied in end-stage renal disease" in antiemetic["detail"]
