"""Reading context.draftOrders leniently (fhir_mappings/draft_orders.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings.draft_orders import read_draft_orders, unresolved_draft_medication_references
from fhir_mappings.index import ResourceIndex

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def draft(rid: str, medication: dict | None = None, dosage: dict | None = None, **extra) -> dict:
    resource = {"resourceType": "MedicationRequest", "id": rid, "status": "draft", **extra}
    if medication is not None:
        resource["medicationCodeableConcept"] = medication
    if dosage is not None:
        resource["dosageInstruction"] = [dosage]
    return resource


def coded(code: str, display: str) -> dict:
    return {"coding": [{"system": RXNORM, "code": code, "display": display}]}


def structured(value: float, unit: str, frequency: int, period: float, period_unit: str, route: str) -> dict:
    return {
        "text": "see structured",
        "doseAndRate": [{"doseQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org",
                                          "code": unit}}],
        "timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": period_unit}},
        "route": {"coding": [{"system": "http://snomed.info/sct", "code": route}]},
    }


def bundle(*resources: dict, typed: bool = True) -> dict:
    out: dict = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    if typed:
        out["type"] = "collection"
    return out


def test_structured_dose_timing_and_route_are_read() -> None:
    (order,) = read_draft_orders(bundle(draft("d1", coded("342369", "lenalidomide"),
                                              structured(25, "mg", 1, 1, "d", "26643006"))))
    assert order.resource_id == "d1"
    assert order.generics == ("lenalidomide",)
    assert (order.dose.value, order.dose.unit, order.dose.source) == (25.0, "mg", "structured")
    assert (order.timing.frequency, order.timing.period, order.timing.period_unit) == (1, 1.0, "d")
    assert order.route == "oral"
    assert order.reference == "MedicationRequest/d1"


def test_dose_given_only_as_text_bundle_without_type_and_no_intent() -> None:
    orders = read_draft_orders(bundle(
        draft("d1", {"text": "Revlimid"}, {"text": "lenalidomide 25 mg PO daily d1-21"}), typed=False))
    (order,) = orders
    assert order.generics == ("lenalidomide",)
    assert (order.dose.value, order.dose.unit, order.dose.source) == (25.0, "mg", "text")
    assert order.timing.per_day == pytest.approx(1.0)
    assert order.route == "oral"


def test_brand_code_identifies_the_ingredient() -> None:
    (order,) = read_draft_orders(bundle(draft("k", coded("1302971", "Kyprolis"))))
    assert order.generics == ("carfilzomib",)
    assert order.dose is None and order.timing is None and order.route is None


def test_medication_reference_to_contained_medication() -> None:
    resource = draft("c1", dosage={"text": "4 mg orally days 1-21"})
    resource["medicationReference"] = {"reference": "#med1"}
    resource["contained"] = [{"resourceType": "Medication", "id": "med1", "code": {"text": "Pomalyst 4 mg"}}]
    (order,) = read_draft_orders(bundle(resource))
    assert order.generics == ("pomalidomide",)
    assert order.dose.value == 4.0


def test_medication_reference_resolved_through_the_index() -> None:
    index = ResourceIndex("p1")
    index.add({"resourceType": "Medication", "id": "m9", "code": coded("1723735", "ixazomib")})
    resource = draft("x", dosage={"text": "4 mg weekly"})
    resource["medicationReference"] = {"reference": "Medication/m9"}
    (order,) = read_draft_orders(bundle(resource), index=index)
    assert order.generics == ("ixazomib",)


@pytest.mark.parametrize(
    ("text", "route"),
    [("1.3 mg/m2 IV push", "intravenous"), ("1.3 mg/m2 subcutaneously", "subcutaneous"),
     ("1800 mg SC", "subcutaneous"), ("400 mg by mouth", "oral"), ("20 mg p.o. weekly", "oral")],
)
def test_route_from_text(text: str, route: str) -> None:
    (order,) = read_draft_orders(bundle(draft("r", {"text": "bortezomib"}, {"text": text})))
    assert order.route == route


def test_route_from_local_code_and_text() -> None:
    dosage = {"text": "1.3 mg/m2", "route": {"coding": [{"system": "http://hospital.example.org/route",
                                                          "code": "IV", "display": "Intravenous"}]}}
    (order,) = read_draft_orders(bundle(draft("r", {"text": "bortezomib"}, dosage)))
    assert order.route == "intravenous"


@pytest.mark.parametrize(
    ("text", "per_day"),
    [("15 mg every 48 hours", 0.5), ("15 mg q48h", 0.5), ("500 mg twice daily", 2.0), ("400 mg BID", 2.0),
     ("40 mg once weekly", 1 / 7), ("1800 mg weekly for 8 weeks, then every 2 weeks", 1 / 7),
     ("10 mg daily", 1.0), ("20 mg twice weekly", 2 / 7)],
)
def test_frequency_from_text(text: str, per_day: float) -> None:
    (order,) = read_draft_orders(bundle(draft("f", {"text": "dexamethasone"}, {"text": text})))
    assert order.timing.per_day == pytest.approx(per_day)


@pytest.mark.parametrize(("text", "value", "unit"),
                         [("1,800 mg", 1800.0, "mg"), ("1.3 mg/m²", 1.3, "mg/m2"), ("10 mg/kg IV", 10.0, "mg/kg"),
                          ("0.5 g", 500.0, "mg")])
def test_dose_units_from_text(text: str, value: float, unit: str) -> None:
    (order,) = read_draft_orders(bundle(draft("u", {"text": "x"}, {"text": text})))
    assert (order.dose.value, order.dose.unit) == (value, unit)


def test_structured_dose_wins_over_text() -> None:
    dosage = structured(10, "mg", 1, 1, "d", "26643006")
    dosage["text"] = "25 mg daily"
    (order,) = read_draft_orders(bundle(draft("s", {"text": "lenalidomide"}, dosage)))
    assert order.dose.value == 10.0


def test_unknown_drug_is_kept_without_drugs() -> None:
    (order,) = read_draft_orders(bundle(draft("m", {"text": "metformin 500 mg"})))
    assert order.drugs == ()
    assert order.label == "metformin 500 mg"


@pytest.mark.parametrize(
    "garbage",
    [None, 5, "x", [], {}, {"resourceType": "Bundle"}, {"resourceType": "Bundle", "entry": "nope"},
     {"resourceType": "Bundle", "entry": [None, 3, {"resource": "x"}, {"resource": {"resourceType": 7}}]},
     [{"resourceType": "MedicationRequest"}],  # no id: a fix could not target it
     [{"resourceType": "MedicationRequest", "id": "g", "medicationCodeableConcept": [1],
       "dosageInstruction": [None, {"doseAndRate": [{"doseQuantity": {"value": True, "unit": 3}}],
                                    "timing": {"repeat": {"frequency": "a", "period": -1, "periodUnit": 4}},
                                    "route": "IV", "text": 12}],
       "medicationReference": {"reference": "#missing"}, "contained": "junk"}]],
)
def test_garbage_never_raises(garbage: object) -> None:
    orders = read_draft_orders(garbage)
    assert all(o.dose is None and o.timing is None for o in orders)


def test_duplicates_by_id_and_other_resource_types_are_skipped() -> None:
    orders = read_draft_orders([draft("a", {"text": "aspirin"}), draft("a", {"text": "heparin"}),
                                {"resourceType": "ServiceRequest", "id": "s"}])
    assert [o.generics for o in orders] == [("aspirin",)]


def test_combination_product_names_every_ingredient() -> None:
    (order,) = read_draft_orders([draft("c", {"text": "daratumumab and hyaluronidase-fihj 1,800 mg/15 mL"})])
    assert order.generics == ("daratumumab",)
    assert order.dose.value == 1800.0


def test_other_patients_and_void_drafts_are_skipped() -> None:
    mine = draft("a", {"text": "aspirin"}, subject={"reference": "Patient/p1"})
    other = draft("b", {"text": "lenalidomide"}, subject={"reference": "https://ehr/fhir/Patient/p2"})
    void = draft("c", {"text": "heparin"})
    void["status"] = "entered-in-error"
    unknown_subject = draft("d", {"text": "acyclovir"}, subject={"reference": "#pt"})
    orders = read_draft_orders([mine, other, void, unknown_subject], patient_id="p1")
    assert [o.resource_id for o in orders] == ["a", "d"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["resourceType", "id", "entry", "resource", "medicationCodeableConcept", "coding",
                         "text", "display", "code", "system", "dosageInstruction", "doseAndRate",
                         "doseQuantity", "value", "unit", "timing", "repeat", "frequency", "period",
                         "periodUnit", "route", "medicationReference", "reference", "contained", "status",
                         "subject"]),
        children, max_size=5) | st.fixed_dictionaries({"coding": st.lists(children, max_size=3)},
                                                      optional={"text": children}),
    max_leaves=30,
)
MR_LIKE = st.fixed_dictionaries(
    {"resourceType": st.just("MedicationRequest"), "id": st.text(min_size=1, max_size=5)},
    optional={"medicationCodeableConcept": JSON, "dosageInstruction": JSON, "medicationReference": JSON,
              "contained": JSON, "status": JSON, "subject": JSON},
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(JSON, st.lists(MR_LIKE, max_size=4),
                 st.builds(lambda entries: {"resourceType": "Bundle", "entry": [{"resource": e} for e in entries]},
                           st.lists(MR_LIKE, max_size=4))))
def test_random_fhir_like_drafts_never_raise(value: object) -> None:
    for order in read_draft_orders(value, patient_id="p1"):
        assert order.resource_id
        if order.timing is not None:
            assert order.timing.per_day > 0


def test_unresolved_draft_medication_references() -> None:
    index = ResourceIndex("p1")
    index.add({"resourceType": "Medication", "id": "known", "code": {"text": "aspirin"}})
    drafts = [draft("a", dosage=None), draft("b"), draft("c"), draft("d")]
    drafts[0]["medicationReference"] = {"reference": "Medication/known"}
    drafts[1]["medicationReference"] = {"reference": "https://ehr/fhir/Medication/m2/_history/3"}
    drafts[2]["medicationReference"] = {"reference": "#contained"}
    drafts[3]["medicationReference"] = "Medication/not-a-reference-object"
    assert unresolved_draft_medication_references(bundle(*drafts), index) == {"Medication/m2"}
