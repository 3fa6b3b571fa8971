"""One pass over everything a request carries: resources indexed by type, id and code.

The HTTP layer feeds it whatever arrived (prefetch values, fetched pages, single resources);
the derivations only ever read from it. Input is read leniently and never validated as a whole:
anything that is not a JSON object with a string ``resourceType`` is skipped.

Dropped here, once, for every derivation (02 §1): entered-in-error anything;
``MedicationStatement.status = not-taken``; ``MedicationRequest.status`` cancelled / draft /
entered-in-error (drafts are read only from ``context.draftOrders``); ``Observation.status``
cancelled / entered-in-error / registered; Conditions whose ``verificationStatus`` is refuted /
entered-in-error; resources whose subject/patient is another patient; resources that are
recognisably FHIR DSTU2/STU3 (``fhir_mappings.fhir_versions``: reason ``pre-r4:<type>``, so the
facts report them rather than misreading or silently ignoring them).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from fhir_mappings.fhir_versions import PRE_R4_CHECKS, is_pre_r4

Resource = dict[str, Any]

_DROP_STATUS: dict[str, frozenset[str]] = {
    "MedicationStatement": frozenset({"not-taken", "entered-in-error"}),
    "MedicationRequest": frozenset({"cancelled", "draft", "entered-in-error"}),
    "MedicationAdministration": frozenset({"entered-in-error", "not-done"}),
    "MedicationDispense": frozenset({"entered-in-error", "declined", "cancelled"}),
    "Observation": frozenset({"cancelled", "entered-in-error", "registered"}),
    "Procedure": frozenset({"entered-in-error", "not-done"}),
    "DiagnosticReport": frozenset({"entered-in-error", "cancelled"}),
}
_REFUTED = frozenset({"refuted", "entered-in-error"})
PRE_R4_DROP = "pre-r4:"  # drop reason prefix, followed by the resource type
# Observation elements that carry a finding rather than a number (see observations_with_answer).
_ANSWER_KEYS = frozenset({"valueString", "valueCodeableConcept", "valueBoolean", "component"})
# Where a resource names its patient.
_PATIENT_FIELDS = ("subject", "patient")


def listed(value: Any) -> list[Any]:
    """A FHIR array element as a list: anything that is not a JSON array counts as empty."""
    return value if isinstance(value, list) else []


def codings(concept: Any) -> Iterator[dict[str, Any]]:
    """The codings of a CodeableConcept, skipping anything malformed."""
    if isinstance(concept, dict):
        for c in listed(concept.get("coding")):
            if isinstance(c, dict):
                yield c


def first_code(concept: Any, system: str | None = None) -> str | None:
    for c in codings(concept):
        code = c.get("code")
        if isinstance(code, str) and (system is None or c.get("system") == system):
            return code
    return None


class ResourceIndex:
    """Resources of one patient for one request, de-duplicated by (resourceType, id)."""

    def __init__(self, patient_id: str | None) -> None:
        self.patient_id = patient_id
        # The usual spelling of a reference to this patient: recognised without splitting it.
        self._own_reference = f"Patient/{patient_id}" if patient_id and "/" not in patient_id else None
        self._by_type: dict[str, dict[str, Resource]] = defaultdict(dict)
        self._anonymous: dict[str, list[Resource]] = defaultdict(list)  # resources without an id
        self._obs_by_code: dict[str, list[Resource]] | None = None
        self._obs_with_answer: list[Resource] | None = None
        self.dropped: Counter[str] = Counter()  # reason -> count, for the log (never ids)

    # -- feeding -------------------------------------------------------------------------------
    def add_any(self, value: Any) -> None:
        """Add a resource, a Bundle's entries (any Bundle type, typed or not), or a list of them."""
        if isinstance(value, list):
            for item in value:
                self.add_any(item)
            return
        if not isinstance(value, dict):
            return
        rtype = value.get("resourceType")
        if rtype == "Bundle":
            for entry in listed(value.get("entry")):
                if isinstance(entry, dict):
                    self.add(entry.get("resource"))
            return
        self.add(value)

    def add(self, resource: Any) -> None:
        if not isinstance(resource, dict):
            return
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str) or rtype in ("Bundle", "OperationOutcome"):
            return
        reason = self._drop_reason(rtype, resource)
        if reason:
            self.dropped[reason] += 1
            return
        rid = resource.get("id")
        self._obs_by_code = self._obs_with_answer = None
        if isinstance(rid, str) and rid:
            # The same resource often arrives under several prefetch keys: keep the first copy.
            self._by_type[rtype].setdefault(rid, resource)
        else:
            self._anonymous[rtype].append(resource)

    def _drop_reason(self, rtype: str, resource: Resource) -> str | None:
        # The table lookup first: most resources (Observations) have no pre-R4 check at all.
        if rtype in PRE_R4_CHECKS and is_pre_r4(resource, rtype):
            return f"{PRE_R4_DROP}{rtype}"
        status = resource.get("status")
        if status == "entered-in-error":
            return "entered-in-error"
        if isinstance(status, str) and status in _DROP_STATUS.get(rtype, ()):
            return f"{rtype}.status={status}"
        if rtype == "Condition":
            ver = first_code(resource.get("verificationStatus"))
            if ver in _REFUTED:
                return f"Condition.verificationStatus={ver}"
        if rtype == "Patient":
            rid = resource.get("id")
            if self.patient_id and isinstance(rid, str) and rid != self.patient_id:
                return "other-patient"
            return None
        if self.patient_id and not self._belongs_to_patient(resource):
            return "other-patient"
        return None

    def _belongs_to_patient(self, resource: Resource) -> bool:
        for name in _PATIENT_FIELDS:
            ref = resource.get(name)
            if isinstance(ref, dict):
                text = ref.get("reference")
                if text == self._own_reference:
                    return True
                if isinstance(text, str) and text:
                    # "Patient/123", "https://ehr/fhir/Patient/123", "Patient/123/_history/2"
                    parts = text.split("/")
                    if "Patient" in parts:
                        i = parts.index("Patient")
                        return i + 1 < len(parts) and parts[i + 1] == self.patient_id
                    return True  # a reference we cannot interpret (e.g. "#p1", Group): keep it
        return True  # no subject at all: contained-style or patient-less resources are kept

    # -- reading -------------------------------------------------------------------------------
    def of_type(self, rtype: str) -> list[Resource]:
        return [*self._by_type.get(rtype, {}).values(), *self._anonymous.get(rtype, ())]

    def has_type(self, rtype: str) -> bool:
        return bool(self._by_type.get(rtype) or self._anonymous.get(rtype))

    def get(self, rtype: str, rid: str) -> Resource | None:
        return self._by_type.get(rtype, {}).get(rid)

    def types(self) -> Iterable[str]:
        return {*self._by_type, *self._anonymous}

    def __len__(self) -> int:
        return sum(map(len, self._by_type.values())) + sum(map(len, self._anonymous.values()))

    def resolve(self, reference: Any, container: Resource | None = None) -> Resource | None:
        """Follow a Reference: ``#id`` into ``container.contained``, else ``Type/id`` (absolute
        URLs and ``_history`` suffixes allowed) into the index."""
        text = reference.get("reference") if isinstance(reference, dict) else reference
        if not isinstance(text, str) or not text:
            return None
        if text.startswith("#"):
            if container is None:
                return None
            for c in listed(container.get("contained")):
                if isinstance(c, dict) and c.get("id") == text[1:]:
                    return c
            return None
        parts = [p for p in text.split("/") if p]
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        if len(parts) < 2:
            return None
        return self.get(parts[-2], parts[-1])

    def pre_r4_types(self) -> dict[str, int]:
        """Resource type -> how many recognisably DSTU2/STU3 resources of it were dropped."""
        return {reason[len(PRE_R4_DROP):]: count for reason, count in sorted(self.dropped.items())
                if reason.startswith(PRE_R4_DROP)}

    def observations_with_code(self, code: str) -> list[Resource]:
        """Observations carrying ``code`` in any coding of ``Observation.code`` (built once)."""
        if self._obs_by_code is None:
            self._index_observations()
        return self._obs_by_code.get(code, [])  # type: ignore[union-attr]

    def observations_with_answer(self) -> list[Resource]:
        """Observations with a coded, text or boolean value, or with components (a panel), in
        index order: what carries a finding rather than a number (built with the code table)."""
        if self._obs_with_answer is None:
            self._index_observations()
        return self._obs_with_answer  # type: ignore[return-value]

    def _index_observations(self) -> None:
        """One pass over the Observations: by code, and those carrying an answer."""
        table: dict[str, list[Resource]] = defaultdict(list)
        answered: list[Resource] = []
        for obs in self.of_type("Observation"):
            concept = obs.get("code")
            if isinstance(concept, dict):
                listed_codings = concept.get("coding")
                if isinstance(listed_codings, list):
                    if len(listed_codings) == 1:  # the usual case: no duplicates to skip
                        c = listed_codings[0]
                        code_ = c.get("code") if isinstance(c, dict) else None
                        if isinstance(code_, str):
                            table[code_].append(obs)
                    else:
                        seen: set[str] = set()
                        for c in listed_codings:
                            code_ = c.get("code") if isinstance(c, dict) else None
                            if isinstance(code_, str) and code_ not in seen:
                                seen.add(code_)
                                table[code_].append(obs)
            if _ANSWER_KEYS.intersection(obs):
                answered.append(obs)
        self._obs_by_code = table
        self._obs_with_answer = answered

    def unresolved_medication_references(self) -> set[str]:
        """``Medication/<id>`` references (not contained) that the index cannot resolve: the HTTP
        layer reads these from the FHIR server when it can."""
        missing: set[str] = set()
        for rtype in ("MedicationStatement", "MedicationRequest", "MedicationAdministration",
                      "MedicationDispense"):
            for res in self.of_type(rtype):
                ref = res.get("medicationReference")
                text = ref.get("reference") if isinstance(ref, dict) else None
                if isinstance(text, str) and text and not text.startswith("#") and self.resolve(text) is None:
                    parts = [p for p in text.split("/") if p]
                    if len(parts) >= 2 and parts[-2] == "Medication":
                        missing.add(f"Medication/{parts[-1]}")
        return missing
