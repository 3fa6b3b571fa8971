"""Request and resource builders for the service tests."""

from __future__ import annotations

import uuid
from typing import Any

from cds_service.services import SERVICES

PATIENT_ID = "pt-123"
FHIR_BASE = "http://127.0.0.1:9999/fhir"
HOOK_OF = {service_id: service.hook for service_id, service in SERVICES.items()}
PREFETCH_KEYS = tuple(SERVICES["rrmm-relapse-guidance"].prefetch)


def patient() -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PATIENT_ID, "gender": "female", "birthDate": "1958-03-14"}


def searchset(*resources: dict[str, Any], next_url: str | None = None, typed: bool = True) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle"}
    if typed:
        bundle["type"] = "searchset"
    if resources:
        bundle["entry"] = [{"resource": r} for r in resources]
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def condition(cid: str = "c1", text: str = "Multiple myeloma") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "code": {"text": text},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }


def procedure(pid: str = "p1") -> dict[str, Any]:
    return {"resourceType": "Procedure", "id": pid, "status": "completed", "subject": {"reference": f"Patient/{PATIENT_ID}"}}


def medication_request(mid: str, status: str, intent: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": intent,
        **fields,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }


def full_prefetch() -> dict[str, Any]:
    """Every key present: the Patient read and empty searchsets."""
    return {key: (patient() if key == "patient" else searchset()) for key in PREFETCH_KEYS}


def draft_orders() -> dict[str, Any]:
    draft = medication_request(
        "draft-1", "draft", "proposal", medicationCodeableConcept={"text": "lenalidomide 10 mg"}
    )
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}


def hook_request(service_id: str = "rrmm-relapse-guidance", *, prefetch: Any = "full", **extra: Any) -> dict:
    hook = HOOK_OF.get(service_id, "patient-view")
    context: dict[str, Any] = {"userId": "Practitioner/pr-1", "patientId": PATIENT_ID}
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = draft_orders()
    if hook == "order-select":
        context["selections"] = ["MedicationRequest/draft-1"]
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    if prefetch == "full":
        body["prefetch"] = full_prefetch()
    elif prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body
