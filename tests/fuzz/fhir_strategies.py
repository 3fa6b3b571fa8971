"""Hypothesis strategies for FHIR-like JSON: plausible resources with the project's real codes,
where any field may instead hold garbage of any JSON type."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from hypothesis import strategies as st

PATIENT_ID = "fuzz-patient"
RESOURCE_TYPES = ["Patient", "Condition", "MedicationStatement", "MedicationRequest", "MedicationAdministration",
                  "Observation", "Procedure", "Medication", "Encounter", "ServiceRequest", "Bundle",
                  "OperationOutcome", "Unknown"]


def _load(name: str) -> Any:
    return json.loads(resources.files("fhir_mappings").joinpath("data", name).read_text(encoding="utf-8"))


def _project_codings() -> list[dict[str, str]]:
    codes = _load("codes.json")
    systems: dict[str, str] = codes["systems"]
    found: list[dict[str, str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in systems and isinstance(value, list):
                    found.extend({"system": systems[key], "code": c} for c in value if isinstance(c, str))
                elif key in systems and isinstance(value, str):
                    found.append({"system": systems[key], "code": value})
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in codes.items() if k != "systems"})
    drugs = _load("drugs.json")
    for drug in drugs["drugs"]:
        if drug.get("rxnorm"):
            found.append({"system": drugs["rxnorm_system"], "code": drug["rxnorm"], "display": drug["generic"]})
    return found


CODINGS = _project_codings()
DRUG_NAMES = [d["generic"] for d in _load("drugs.json")["drugs"]]

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False), st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                           max_leaves=12)

dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2024", "2024-02", "2024-02-30", "not a date", "", "2024-13-01T25:61:00Z", "0000-00-00"]),
)
numbers = st.one_of(st.integers(min_value=-10**6, max_value=10**6), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=6))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually the plausible value, sometimes any JSON at all."""
    return st.one_of(strategy, strategy, strategy, json_values)


codings = st.one_of(st.sampled_from(CODINGS), st.fixed_dictionaries({"system": st.text(max_size=20),
                                                                      "code": st.text(max_size=10)}))
concepts = st.fixed_dictionaries({"coding": maybe(st.lists(maybe(codings), max_size=3))},
                                 optional={"text": maybe(st.sampled_from(DRUG_NAMES) | st.text(max_size=30))})
references = st.fixed_dictionaries({"reference": maybe(st.sampled_from([f"Patient/{PATIENT_ID}", "Patient/other",
                                                                         "Medication/m1", "#c1", ""]))})
quantities = st.fixed_dictionaries({"value": maybe(numbers)},
                                   optional={"unit": maybe(st.sampled_from(["g/dL", "mg/L", "%", "mL/min"])),
                                             "comparator": maybe(st.sampled_from(["<", ">", "<="]))})
periods = st.fixed_dictionaries({}, optional={"start": maybe(dates), "end": maybe(dates)})
dosages = st.lists(st.fixed_dictionaries({}, optional={
    "text": st.text(max_size=40),
    "timing": maybe(st.fixed_dictionaries({"repeat": json_values})),
    "doseAndRate": maybe(st.lists(st.fixed_dictionaries({"doseQuantity": maybe(quantities)}), max_size=2)),
    "route": maybe(concepts),
}), max_size=2)


@st.composite
def resources_(draw: st.DrawFn) -> dict[str, Any]:
    rtype = draw(st.sampled_from(RESOURCE_TYPES))
    resource: dict[str, Any] = {"resourceType": rtype}
    optional = {
        "id": maybe(st.sampled_from(["a", "b", "m1", PATIENT_ID]) | st.text(max_size=8)),
        "subject": maybe(references),
        "patient": maybe(references),
        "status": maybe(st.sampled_from(["active", "completed", "stopped", "entered-in-error", "final",
                                         "amended", "on-hold", "draft", "unknown"])),
        "code": maybe(concepts),
        "category": maybe(st.lists(concepts, max_size=2)),
        "medicationCodeableConcept": maybe(concepts),
        "medicationReference": maybe(references),
        "effectiveDateTime": maybe(dates),
        "effectivePeriod": maybe(periods),
        "issued": maybe(dates),
        "authoredOn": maybe(dates),
        "onsetDateTime": maybe(dates),
        "recordedDate": maybe(dates),
        "performedDateTime": maybe(dates),
        "performedPeriod": maybe(periods),
        "birthDate": maybe(dates),
        "gender": maybe(st.sampled_from(["male", "female", "other"])),
        "valueQuantity": maybe(quantities),
        "valueCodeableConcept": maybe(concepts),
        "valueString": maybe(st.text(max_size=30)),
        "interpretation": maybe(st.lists(concepts, max_size=2)),
        "clinicalStatus": maybe(concepts),
        "verificationStatus": maybe(concepts),
        "dosage": maybe(dosages),
        "dosageInstruction": maybe(dosages),
        "statusReason": maybe(concepts),
        "reasonCode": maybe(st.lists(concepts, max_size=2)),
        "component": maybe(st.lists(st.fixed_dictionaries({"code": concepts, "valueQuantity": quantities}),
                                    max_size=2)),
        "contained": maybe(st.lists(json_values, max_size=2)),
        "extension": json_values,
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=10)):
        resource[name] = draw(optional[name])
    if rtype == "Bundle":
        resource["entry"] = draw(maybe(st.lists(st.fixed_dictionaries({"resource": json_values}), max_size=3)))
    return resource


fhir_resources = resources_()
prefetch_values = st.one_of(
    st.none(),
    fhir_resources,
    st.fixed_dictionaries({"resourceType": st.just("Bundle"),
                           "entry": st.lists(st.one_of(st.fixed_dictionaries({"resource": fhir_resources}),
                                                       json_values), max_size=6)}),
    json_values,
)
