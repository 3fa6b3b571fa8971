"""Resources that are recognisably FHIR DSTU2 or STU3, not R4 (no I/O, cheap per resource).

DSTU2 and STU3 resources look similar enough to R4 to be misread silently (a DSTU2 Condition's
``clinicalStatus`` is a string, a MedicationOrder is not a MedicationRequest). One recogniser
serves both rooms: ``cds_service.fhir_version`` refuses such prefetch values per key, and the
``ResourceIndex`` drops any that still arrive and counts them by type, so ``build_facts`` reports
them (a ``pre-r4-resource`` note) instead of ignoring them silently.
"""

from __future__ import annotations

from typing import Any

# Resource types that exist in DSTU2/STU3 and not in R4.
_PRE_R4_TYPES = frozenset(
    {
        "MedicationOrder",
        "DiagnosticOrder",
        "DeviceUseRequest",
        "Order",
        "OrderResponse",
        "ProcedureRequest",
        "ReferralRequest",
        "ProcessRequest",
        "ProcessResponse",
        "EligibilityRequest",
        "EligibilityResponse",
        "BodySite",
        "DataElement",
        "ImagingManifest",
        "DeviceComponent",
        "ExpansionProfile",
        "ServiceDefinition",
        "Conformance",
        "ImagingObjectSelection",
    }
)
# Elements R4 renamed or removed, per type: present in a resource, they say DSTU2/STU3.
_PRE_R4_ELEMENTS: dict[str, tuple[str, ...]] = {
    "Condition": ("patient", "dateRecorded", "assertedDate"),
    "MedicationStatement": ("patient", "wasNotTaken", "taken", "reasonForUseCodeableConcept"),
    "MedicationAdministration": ("patient", "wasNotGiven", "notGiven", "effectiveTimeDateTime"),
    "MedicationDispense": ("notDone",),
    "Procedure": ("patient", "notPerformed", "notDone"),
    "Observation": ("context",),
    "MedicationRequest": ("context", "definition"),
    "DiagnosticReport": ("codedDiagnosis", "context"),
}
# Elements that are CodeableConcepts in R4 and code strings before it.
_CODE_STRING_BEFORE_R4: dict[str, tuple[str, ...]] = {
    "Condition": ("clinicalStatus", "verificationStatus"),
    "AllergyIntolerance": ("clinicalStatus", "verificationStatus"),
}


def pre_r4_reason(resource: Any) -> str | None:
    """A short phrase when ``resource`` is recognisably DSTU2/STU3, else None (cheap, no I/O)."""
    if not isinstance(resource, dict):
        return None
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        return None
    if rtype in _PRE_R4_TYPES:
        return f"{rtype} is not an R4 resource type"
    for element in _PRE_R4_ELEMENTS.get(rtype, ()):
        if element in resource:
            return f"{rtype}.{element} is not an R4 element"
    for element in _CODE_STRING_BEFORE_R4.get(rtype, ()):
        if isinstance(resource.get(element), str):
            return f"{rtype}.{element} is a code string (DSTU2/STU3), not a CodeableConcept"
    return None


def pre_r4_in_value(value: Any) -> str | None:
    """The first pre-R4 reason found in a prefetch value (a resource or a Bundle of them)."""
    if not isinstance(value, dict):
        return None
    if value.get("resourceType") != "Bundle":
        return pre_r4_reason(value)
    entries = value.get("entry")
    for entry in entries if isinstance(entries, list) else ():
        reason = pre_r4_reason(entry.get("resource")) if isinstance(entry, dict) else None
        if reason:
            return reason
    return None


# Per resource type, what the index checks (True: the type itself is pre-R4): one dictionary
# lookup per resource. Observations are left out there: what the mapping reads of one (code,
# value[x], effective[x], status, subject) has the same shape in DSTU2, STU3 and R4, and they are
# the bulk of a record (the prefetch-level check of cds_service still looks at them).
PRE_R4_CHECKS: dict[str, bool | tuple[tuple[str, ...], tuple[str, ...]]] = {
    **{rtype: (_PRE_R4_ELEMENTS.get(rtype, ()), _CODE_STRING_BEFORE_R4.get(rtype, ()))
       for rtype in (*_PRE_R4_ELEMENTS, *_CODE_STRING_BEFORE_R4) if rtype != "Observation"},
    **dict.fromkeys(_PRE_R4_TYPES, True),
}


def is_pre_r4(resource: dict[str, Any], rtype: str) -> bool:
    """What the index decides for one resource of type ``rtype`` (``pre_r4_reason`` for every
    type but Observation, see ``PRE_R4_CHECKS``)."""
    check = PRE_R4_CHECKS.get(rtype)
    if check is None:
        return False
    if check is True:
        return True
    elements, code_strings = check  # type: ignore[misc]
    for element in elements:  # plain loops: a generator per resource costs more than the checks
        if element in resource:
            return True
    return any(isinstance(resource.get(element), str) for element in code_strings)
