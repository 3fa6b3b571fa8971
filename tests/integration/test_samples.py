"""The sample personas as data: generated from their source, valid FHIR, terminology-clean, ageless."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources as package_resources

import pytest
from fhir.resources.R4B.bundle import Bundle

from cds_service import samples
from cds_service.samples import charts as source
from cds_service.services import PREFETCH

TODAY = date(2027, 6, 1)
STANDARD_SYSTEMS = {
    "http://loinc.org": "loinc",
    "http://snomed.info/sct": "snomed",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "http://www.ama-assn.org/go/cpt": "cpt",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
}


def _terminology_codes() -> dict[str, set[str]]:
    """Every code the project terminology lists, per system (ICD-10-CM as prefixes)."""
    data = package_resources.files("fhir_mappings").joinpath("data")
    drugs = json.loads(data.joinpath("drugs.json").read_text("utf-8"))
    codes = json.loads(data.joinpath("codes.json").read_text("utf-8"))
    known: dict[str, set[str]] = {name: set() for name in STANDARD_SYSTEMS.values()}
    for entry in drugs["drugs"]:
        known["rxnorm"].update(c for c in [entry["rxnorm"], *(b["rxnorm"] for b in entry["brands"])] if c)

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            if key == "other_values":  # disease-status answers: SNOMED codes as keys
                known["snomed"].update(value)
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str):
            if key in ("loinc",) or value.startswith("LA"):
                known["loinc"].add(value)
            elif key in ("snomed",) or (value.isdigit() and len(value) > 5):
                known["snomed"].add(value)
            elif key in ("icd10cm_prefix", "in_relapse_icd10cm"):
                known["icd10cm"].add(value)
            elif key == "cpt":
                known["cpt"].add(value)
            elif key == "code" and "-" in value:
                known["loinc"].add(value)

    walk(codes)
    return known


def _codings(value: object):
    if isinstance(value, dict):
        if "system" in value and "code" in value:
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def test_committed_files_match_their_source() -> None:
    for name, text in source.render().items():
        committed = package_resources.files("cds_service.samples").joinpath(name).read_text("utf-8")
        assert committed == text, f"{name} is stale: run python -m cds_service.samples.charts"


def test_at_least_ten_personas_with_unique_ids() -> None:
    personas = samples.personas()
    assert len(personas) >= 10
    assert len({p.id for p in personas}) == len({p.patient_id for p in personas}) == len(personas)


@pytest.mark.parametrize("persona", samples.personas(), ids=lambda p: p.id)
def test_bundles_are_valid_idempotent_transactions(persona: samples.Persona) -> None:
    bundle = samples.bundle(persona, TODAY)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "transaction"
    ids = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["request"] == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        ids.add((resource["resourceType"], resource["id"]))
        subject = resource.get("subject", {}).get("reference")
        assert subject in (None, f"Patient/{persona.patient_id}")
    assert len(ids) == len(bundle["entry"])


@pytest.mark.parametrize("persona", samples.personas(), ids=lambda p: p.id)
def test_only_terminology_codes_on_standard_systems(persona: samples.Persona) -> None:
    known = _terminology_codes()
    bundle = samples.bundle(persona, TODAY)
    drafts = samples.draft_orders(persona, TODAY)
    for coding in [*_codings(bundle), *_codings(drafts)]:
        family = STANDARD_SYSTEMS.get(coding["system"])
        if family is None:
            continue  # local (hospital) code systems, UCUM units, HL7 status code systems
        if family == "icd10cm":
            assert any(coding["code"].startswith(p) for p in known["icd10cm"]), coding
        else:
            assert coding["code"] in known[family], coding


def test_dates_shift_with_today_so_personas_never_age() -> None:
    persona = samples.persona("frail-elderly")
    anchor = samples.anchor()
    at_anchor = samples.resources(persona, anchor)
    later = samples.resources(persona, date(anchor.year + 3, anchor.month, anchor.day))
    days = (date(anchor.year + 3, anchor.month, anchor.day) - anchor).days
    for before, after in zip(at_anchor, later, strict=True):
        if before["resourceType"] == "Patient":
            shifted = date.fromisoformat(after["birthDate"]) - date.fromisoformat(before["birthDate"])
            assert shifted.days == days
        if "effectiveDateTime" in before:
            assert after["effectiveDateTime"][10:] == before["effectiveDateTime"][10:]  # time and zone kept
            moved = date.fromisoformat(after["effectiveDateTime"][:10]) - date.fromisoformat(
                before["effectiveDateTime"][:10])
            assert moved.days == days


def test_shift_dates_leaves_partial_dates_and_other_strings_alone() -> None:
    value = {"a": "2024", "b": "2024-05", "c": "2024-02-28", "d": "2024-02-28T23:10:00+01:00",
             "e": ["not a date", "2024-13-45"], "f": 3}
    assert samples.shift_dates(value, 2) == {"a": "2024", "b": "2024-05", "c": "2024-03-01",
                                             "d": "2024-03-01T23:10:00+01:00",
                                             "e": ["not a date", "2024-13-45"], "f": 3}


def test_prefetch_is_filled_like_an_ehr_search() -> None:
    persona = samples.persona("heart-failure")
    prefetch = samples.prefetch(PREFETCH, samples.resources(persona, TODAY), persona.patient_id)
    assert prefetch["patient"]["id"] == persona.patient_id
    assert prefetch["medicationDispenses"] is None  # nothing of that type: null, as the spec allows
    labs = [e["resource"] for e in prefetch["labObservations"]["entry"]]
    assert labs and all(r["category"][0]["coding"][0]["code"] == "laboratory" for r in labs)
    findings = {e["resource"]["code"]["coding"][0]["code"] for e in prefetch["findingObservations"]["entry"]}
    assert {"10230-1", "89247-1"} <= findings and "33358-3" not in findings


def test_order_hook_requests_carry_the_drafted_regimen() -> None:
    persona = samples.persona("renal-impairment")
    request = samples.hook_request(persona, "order-select", TODAY, fhir_server="http://127.0.0.1:9/fhir",
                                   fhir_token="secret")
    drafts = request["context"]["draftOrders"]["entry"]
    assert len(drafts) == len(persona.draft["orders"])
    assert all(e["resource"]["status"] == "draft" for e in drafts)
    assert request["context"]["selections"] == [f"MedicationRequest/{e['resource']['id']}" for e in drafts]
    assert request["fhirAuthorization"]["access_token"] == "secret"
    assert "prefetch" not in request


def test_unknown_hook_and_persona_are_refused() -> None:
    with pytest.raises(samples.UnknownPersona):
        samples.persona("nobody")
    with pytest.raises(ValueError):
        samples.hook_request(samples.personas()[0], "encounter-start", TODAY)
