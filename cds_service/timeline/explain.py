"""``POST /timeline/api/explain``: the resources the timeline app read -> what the hooks conclude.

The body is ``{"patientId": "...", "resources": <a Bundle, a list, or a map of prefetch-like keys
to Bundles / resources / null>}``. The answer (schema ``cds_service/schemas/timeline-explain``,
version :data:`SCHEMA_VERSION`) is built with exactly the hook code: the resources are indexed
as the prefetch is, the facts are ``handlers.facts_for`` (the KB's catalogue and derivation
parameters), the decision is ``cds_cards.patient_view.patient_view`` turned into
``clinical_rules.trace.decision_trace``; the series, line exposures and nadirs come from
``fhir_mappings.timeline``. Nothing is stored; nothing about the patient is logged.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from cds_cards.patient_view import patient_view
from cds_service import fhir_urls, schemas
from cds_service.errors import CdsHttpError
from cds_service.handlers import HookContext, facts_for
from clinical_rules.kb import KnowledgeBase
from clinical_rules.trace import decision_trace
from fhir_mappings.facts import Evidence, PatientFacts
from fhir_mappings.index import ResourceIndex
from fhir_mappings.progression import Point
from fhir_mappings.timeline import line_exposures, line_nadirs, read_series

SCHEMA_VERSION = "1.0.0"
SERVICE_ID = "rrmm-relapse-guidance"  # the hook whose decision the timeline explains
# The IMWG criteria of the derivation parameters, per progression kind (values only; the app words them).
_IMWG_CRITERIA = {
    "imwg-serum": ("serum M-protein", "g/dL", ("imwg_min_relative_increase", "serum_min_increase_g_dl",
                                                "serum_high_nadir_g_dl", "serum_high_nadir_min_increase_g_dl")),
    "imwg-urine": ("urine M-protein", "mg/24 h", ("imwg_min_relative_increase", "urine_min_increase_mg_24h")),
    "imwg-flc": ("involved-uninvolved FLC", "mg/L", ("imwg_min_relative_increase", "flc_min_increase_mg_l")),
}


def patient_id_of(document: Any) -> str:
    if not isinstance(document, dict):
        raise CdsHttpError(400, "the request body must be a JSON object", code="structure")
    problems = schemas.problems("timeline-explain-request", document)
    if problems:
        raise CdsHttpError(400, problems)
    patient_id = document.get("patientId")
    if not isinstance(patient_id, str):
        raise CdsHttpError(400, "patientId must be a string", code="required")
    problem = fhir_urls.id_problem(patient_id)
    if problem:
        raise CdsHttpError(400, f"patientId {problem}", code="value")
    return patient_id


def index_resources(patient_id: str, resources: Any) -> ResourceIndex:
    index = ResourceIndex(patient_id)
    if isinstance(resources, dict) and "resourceType" not in resources:
        for value in resources.values():
            index.add_any(value)
    else:
        index.add_any(resources)
    return index


def explain(document: dict[str, Any], patient_id: str, kb: KnowledgeBase, evaluation_date: date) -> dict[str, Any]:
    """The answer for a request whose ``patient_id`` was read (and the request validated) by
    ``patient_id_of``."""
    resources = document.get("resources")
    if not isinstance(resources, dict | list):
        raise CdsHttpError(400, "resources must be a Bundle, a list of resources or a map of keys to them",
                           code="structure")
    index = index_resources(patient_id, resources)
    ctx = HookContext(service_id=SERVICE_ID, hook="patient-view", patient_id=patient_id,
                      evaluation_date=evaluation_date, index=index, kb=kb)
    facts = facts_for(ctx)
    view = patient_view(facts, kb)
    series = read_series(index, evaluation_date)
    groups = line_exposures(facts)
    refractory = {h.drug: h for h in facts.drug_histories if h.refractory}
    return {
        "schemaVersion": SCHEMA_VERSION,
        "kbVersion": kb.version,
        "evaluationDate": evaluation_date.isoformat(),
        "patientId": patient_id,
        "resourceCount": len(index),
        "facts": facts_list(facts),
        "series": {
            **{name: [_measurement(m) for m in values] for name, values in series.measurements.items()},
            "flcDifference": [_point(p) for p in series.flc_difference],
        },
        "events": {
            "progressions": [
                {"date": e.date.isoformat(), "kinds": list(e.kinds), "description": e.description,
                 "evidence": _evidence_list(e.evidence)}
                for e in facts.progression_events
            ],
            "unconfirmedRises": [
                {"date": p.date.isoformat(), "analyte": p.analyte, "description": p.description,
                 "evidence": _evidence_list(p.evidence)}
                for p in ([facts.possible_progression] if facts.possible_progression else [])
            ],
            "nadirs": [{"line": n.line_number, "series": n.series, **_point(n.point)}
                       for n in line_nadirs(series, groups)],
            "imwgCriteria": _criteria(facts, kb),
        },
        "lines": [
            {
                "number": g.line.number,
                "start": g.line.start.isoformat(),
                "end": g.end.isoformat(),
                "drugs": list(g.line.drugs),
                "includesAsct": g.line.includes_asct,
                "maintenanceDrugs": list(g.line.maintenance_drugs),
                "exposures": [
                    {
                        "drug": x.drug,
                        "classes": list(x.classes),
                        "start": x.start.isoformat(),
                        "end": x.end.isoformat(),
                        "ongoing": x.ongoing,
                        "maintenance": x.drug in g.line.maintenance_drugs,
                        "stoppedForProgression": x.stopped_for_progression,
                        "refractory": x.drug in refractory and refractory[x.drug].refractory_exposure == x,
                        "evidence": _evidence_list(x.evidence),
                    }
                    for x in g.exposures
                ],
            }
            for g in groups
        ],
        "transplants": [{"date": t.date.isoformat() if t.date else None, "evidence": _evidence_list((t.evidence,))}
                        for t in facts.transplants],
        "renal": _renal(facts, kb, view.decision),
        "decision": decision_trace(view.decision),
    }


def _renal(facts: PatientFacts, kb: KnowledgeBase, decision: Any) -> dict[str, Any]:
    """Renal function as the doses read it, with the renal bands of the recommended regimen's drugs."""
    renal = facts.renal
    recommended = []
    if decision.treatment is not None:
        recommended = [drug for option in decision.treatment.treatment.options if option.recommended
                       for drug in option.drugs]
    bands = []
    for drug in dict.fromkeys(recommended):
        entry = kb.doses.get(drug)
        for band in (entry.renal if entry is not None else ()):
            bands.append({"drug": drug, "dialysis": band.dialysis, "crclBelow": band.crcl_below,
                          **({"value": band.value} if band.value is not None else {})})
    return {
        "crclMlMin": renal.crcl_ml_min,
        "method": renal.method,
        "dialysis": renal.dialysis,
        "evidence": _evidence_list(renal.evidence),
        "bands": bands,
    }


def _criteria(facts: PatientFacts, kb: KnowledgeBase) -> list[dict[str, Any]]:
    params = kb.derivation_parameters
    fired: dict[str, list[str]] = {}
    for event in facts.progression_events:
        for kind in event.kinds:
            if kind in _IMWG_CRITERIA:
                fired.setdefault(kind, []).append(event.date.isoformat())
    out = []
    for kind, dates in fired.items():
        label, unit, names = _IMWG_CRITERIA[kind]
        out.append({"kind": kind, "analyte": label, "unit": unit, "dates": dates,
                    "parameters": {name: getattr(params, name) for name in names}})
    return out


# -- JSON of the facts -------------------------------------------------------------------------------
def facts_list(facts: PatientFacts) -> list[dict[str, Any]]:
    """Every field of PatientFacts: its value (evidence left out) and every source resource in it."""
    out = []
    for item in dataclasses.fields(facts):
        value = getattr(facts, item.name)
        evidence: dict[tuple[str, str, str], dict[str, Any]] = {}
        plain = _plain(value, evidence)
        out.append({"name": item.name, "value": plain, "evidence": list(evidence.values())})
    return out


def _plain(value: Any, evidence: dict[tuple[str, str, str], dict[str, Any]]) -> Any:
    if isinstance(value, Evidence):
        item = _evidence(value)
        evidence.setdefault((item["resourceType"], item["id"], item.get("date", "")), item)
        return None
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = {}
        for item in dataclasses.fields(value):
            child = _plain(getattr(value, item.name), evidence)
            if child is not None and item.name != "evidence":
                result[item.name] = child
        return result
    if isinstance(value, tuple | list):
        items = [_plain(v, evidence) for v in value]
        return [v for v in items if v is not None]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _evidence(e: Evidence) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": e.resource_type, "id": e.resource_id}
    if e.date is not None:
        out["date"] = e.date.isoformat()
    if e.text:
        out["text"] = e.text
    if e.value is not None:
        out["value"] = e.value
    if e.unit:
        out["unit"] = e.unit
    return out


def _evidence_list(items: Any) -> list[dict[str, Any]]:
    return [_evidence(e) for e in items]


def _measurement(m: Any) -> dict[str, Any]:
    return {"date": m.date.isoformat(), "value": m.value, "unit": m.unit, "evidence": [_evidence(m.evidence)]}


def _point(p: Point) -> dict[str, Any]:
    return {"date": p.date.isoformat(), "value": p.value, "evidence": _evidence_list(p.evidence)}
