"""Sample RRMM patients shipped with the service, and CDS Hooks requests built from them.

Each persona is a FHIR R4 ``transaction`` Bundle (``<id>.json``, PUT entries with fixed ids) plus
an entry in ``catalog.json`` (title, summary, a drafted regimen for the order hooks); what the
service should say about it is knowledge-base data (``clinical_rules/kb/scenarios/personas.yaml``). All dates in the files are written relative to the catalog's ``anchor`` date; every
consumer (``rrmm-cds fixtures load``, the preview page, the tests) shifts every FHIR date,
dateTime and instant by ``today - anchor`` days, so a persona is always evaluated as if "today"
were its anchor and never ages. ``charts.py`` is the source the JSON files are generated from.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources as package_resources
from typing import Any
from urllib.parse import parse_qs

from cds_service.samples.authoring import drug, quantity

Resource = dict[str, Any]
HOOKS = ("patient-view", "order-select", "order-sign")
PRACTITIONER_ID = "sample-oncologist"

# A FHIR date or dateTime/instant with day precision: the date part is shifted, the rest kept.
_FULL_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")


class UnknownPersona(KeyError):
    """No sample patient has this id."""


@dataclass(frozen=True)
class Persona:
    id: str
    patient_id: str
    title: str
    summary: str
    intent: str
    file: str
    expect: dict[str, Any]
    draft: dict[str, Any]

    @property
    def draft_label(self) -> str:
        return str(self.draft.get("label", "draft orders"))


def _read_text(name: str) -> str:
    return package_resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


@cache
def _catalog() -> dict[str, Any]:
    return json.loads(_read_text("catalog.json"))


def anchor() -> date:
    """The date every sample file is written relative to."""
    return date.fromisoformat(_catalog()["anchor"])


@cache
def personas() -> tuple[Persona, ...]:
    """The personas, with what the knowledge base says each must get (scenarios/personas.yaml)."""
    from cds_service.scenarios import load_persona_expectations  # the expectations are knowledge-base data

    expectations = load_persona_expectations()
    found = []
    for entry in _catalog()["personas"]:
        expected = expectations.get(entry["id"])
        found.append(Persona(
            id=entry["id"],
            patient_id=entry["patientId"],
            title=entry["title"],
            summary=entry["summary"],
            intent=expected.intent if expected else "",
            file=entry["file"],
            expect={hook: e.model_dump(exclude_defaults=True) for hook, e in expected.expect.items()} if expected else {},
            draft=entry["draft"],
        ))
    return tuple(found)


def persona(persona_id: str) -> Persona:
    for candidate in personas():
        if candidate.id == persona_id:
            return candidate
    raise UnknownPersona(persona_id)


def shift_dates(value: Any, days: int) -> Any:
    """A deep copy of ``value`` with every full FHIR date / dateTime / instant moved by ``days``.

    Partial dates ("2024", "2024-05") carry no day to move and are left as they are.
    """
    if isinstance(value, dict):
        return {key: shift_dates(item, days) for key, item in value.items()}
    if isinstance(value, list):
        return [shift_dates(item, days) for item in value]
    if isinstance(value, str):
        match = _FULL_DATE.match(value)
        if match:
            try:
                moved = date.fromisoformat(match.group(1)) + timedelta(days=days)
            except ValueError:
                return value
            return moved.isoformat() + (match.group(2) or "")
    return value


def days_from_anchor(today: date) -> int:
    return (today - anchor()).days


@cache
def _raw_bundle(file: str) -> Resource:
    return json.loads(_read_text(file))


def bundle(p: Persona, today: date) -> Resource:
    """The persona's transaction Bundle with its dates moved to ``today``."""
    return shift_dates(copy.deepcopy(_raw_bundle(p.file)), days_from_anchor(today))


def resources(p: Persona, today: date) -> list[Resource]:
    return [entry["resource"] for entry in bundle(p, today)["entry"]]


def draft_orders(p: Persona, today: date) -> Resource:
    """The persona's drafted regimen as ``context.draftOrders``: draft MedicationRequests."""
    entries = []
    for number, line in enumerate(p.draft.get("orders", ()), start=1):
        dosage: Resource = {
            "text": line["text"],
            "route": {"text": line["route"]},
            "timing": {"repeat": {"frequency": line["frequency"], "period": line["period"],
                                  "periodUnit": line["periodUnit"]}},
            "doseAndRate": [{"doseQuantity": quantity(line["dose"], line["unit"])}],
        }
        entries.append(
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": f"{p.id}-draft-{number}",
                    "status": "draft",
                    "intent": "order",
                    "medicationCodeableConcept": drug(line["drug"]),
                    "subject": {"reference": f"Patient/{p.patient_id}"},
                    "authoredOn": today.isoformat(),
                    "requester": {"reference": f"Practitioner/{PRACTITIONER_ID}"},
                    "dosageInstruction": [dosage],
                }
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def prefetch(templates: dict[str, str], items: list[Resource], patient_id: str) -> dict[str, Any]:
    """Fill prefetch templates the way an EHR would from the patient's chart.

    ``Type/{{context.patientId}}`` reads give the resource; ``Type?...`` searches give a searchset
    Bundle of the resources of that type matching the ``category`` and ``code`` token parameters
    (other parameters, such as ``patient``, are satisfied by construction), with the Medications
    they reference when the template asks for ``_include=<type>:medication``; no match gives ``None``.
    """
    filled: dict[str, Any] = {}
    for key, template in templates.items():
        path, _, query = template.partition("?")
        resource_type = path.split("/")[0]
        if "/" in path:
            filled[key] = next((r for r in items if r["resourceType"] == resource_type
                                and r.get("id") == patient_id), None)
            continue
        params = parse_qs(query)
        matches = [r for r in items if r["resourceType"] == resource_type and _matches(r, params)]
        included = _included_medications(matches, items) if any(
            v.endswith(":medication") for v in params.get("_include", [])) else []
        filled[key] = _searchset(matches, included) if matches else None
    return filled


def _included_medications(matches: list[Resource], items: list[Resource]) -> list[Resource]:
    """The Medication resources ``matches`` reference, as ``_include=<type>:medication`` adds them."""
    wanted = {ref.get("reference") for r in matches if isinstance(ref := r.get("medicationReference"), dict)}
    return [r for r in items if r["resourceType"] == "Medication" and f"Medication/{r.get('id')}" in wanted]


def _matches(resource: Resource, params: dict[str, list[str]]) -> bool:
    for name, element in (("category", "category"), ("code", "code")):
        if name not in params:
            continue
        wanted = {token for value in params[name] for token in value.split(",")}
        concepts = resource.get(element)
        concepts = concepts if isinstance(concepts, list) else [concepts]
        codings = [c for concept in concepts if isinstance(concept, dict) for c in concept.get("coding", [])]
        if not any(c.get("code") in wanted or f"{c.get('system')}|{c.get('code')}" in wanted for c in codings):
            return False
    return True


def _searchset(items: list[Resource], included: list[Resource] | None = None) -> Resource:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(items),
            "entry": [{"resource": r} for r in items]
            + [{"resource": r, "search": {"mode": "include"}} for r in included or ()]}


def hook_request(
    p: Persona,
    hook: str,
    today: date,
    *,
    prefetch_templates: dict[str, str] | None = None,
    fhir_server: str | None = None,
    fhir_token: str | None = None,
) -> Resource:
    """A CDS Hooks 2.0 request for ``hook`` about persona ``p`` as of ``today``.

    With ``prefetch_templates`` the prefetch is filled from the chart; with ``fhir_server`` the
    service is told where to fetch what is missing (and ``fhir_token`` becomes fhirAuthorization).
    """
    if hook not in HOOKS:
        raise ValueError(f"unknown hook {hook!r}; expected one of {', '.join(HOOKS)}")
    context: Resource = {"userId": f"Practitioner/{PRACTITIONER_ID}", "patientId": p.patient_id}
    if hook != "patient-view":
        drafts = draft_orders(p, today)
        context["draftOrders"] = drafts
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{e['resource']['id']}" for e in drafts["entry"]]
    request: Resource = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    if fhir_server:
        request["fhirServer"] = fhir_server
        if fhir_token:
            request["fhirAuthorization"] = {
                "access_token": fhir_token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "patient/*.read",
                "subject": f"Practitioner/{PRACTITIONER_ID}",
                "patient": p.patient_id,
            }
    if prefetch_templates:
        request["prefetch"] = prefetch(prefetch_templates, resources(p, today), p.patient_id)
    return request


def utc_today() -> date:
    """Today in UTC: the date the HTTP layer evaluates with, so shifted samples line up with it."""
    return datetime.now(UTC).date()
