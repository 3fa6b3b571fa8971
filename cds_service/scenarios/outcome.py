"""What a scenario gives under a knowledge base, as plain data, and how it differs from what the
scenario expects."""

from __future__ import annotations

import json
from typing import Any

from cds_cards.order_cards import render_findings
from cds_cards.patient_view import patient_view
from cds_cards.patient_view.data_gaps import render_reported
from cds_service.handlers import selected_drafts
from cds_service.scenarios.drafts import draft_id, draft_orders
from cds_service.scenarios.models import Expect, Scenario
from cds_service.scenarios.patients import facts_for
from clinical_rules.decisions import RelapseDecision, ReportedGap
from clinical_rules.kb import KnowledgeBase
from clinical_rules.order_checks import OrderFinding, check_orders, kept_drugs
from fhir_mappings import build_facts
from fhir_mappings.draft_orders import drafted_service_codes, read_draft_orders
from fhir_mappings.facts import PatientFacts
from fhir_mappings.index import ResourceIndex

Outcome = dict[str, Any]
# Compared between two knowledge bases by `rrmm-cds kb check` ("which scenarios changed").
SUMMARY_KEYS = ("status", "row", "options", "recommended", "supportive", "doses", "cards", "indicators",
                "data_gaps", "findings", "fixes")
_UNESCAPE = (("&lt;", "<"), ("&gt;", ">"), ("\\*", "*"), ("\\_", "_"), ("\\`", "`"), ("\\[", "["), ("\\]", "]"))


def facts_of(scenario: Scenario, kb: KnowledgeBase) -> PatientFacts:
    if scenario.patient is not None:
        return facts_for(scenario.patient, kb, scenario.evaluation_date, _patient_id(scenario))
    assert scenario.record is not None  # the model requires one of the two
    patient_id = scenario.record.patient_id
    index = ResourceIndex(patient_id)
    for resource in scenario.record.resources:
        resource = dict(resource)
        if resource.get("resourceType") != "Patient" and "subject" not in resource and "patient" not in resource:
            resource["subject"] = {"reference": f"Patient/{patient_id}"}
        index.add(resource)
    return build_facts(index, patient_id, scenario.evaluation_date, catalog=kb.catalog,
                       params=kb.derivation_parameters)


def outcome(scenario: Scenario, kb: KnowledgeBase) -> Outcome:
    """Everything observable about the scenario under ``kb``."""
    facts = facts_of(scenario, kb)
    if scenario.hook == "patient-view":
        reported = [ReportedGap.of(g["kind"], **{k: v for k, v in g.items() if k != "kind"})
                    for g in scenario.reported_gaps]
        view = patient_view(facts, kb, reported=reported)
        return {**_decision_outcome(view.decision), **_card_outcome(view.cards)}
    patient_id = _patient_id(scenario)
    bundle = draft_orders(scenario.drafts, kb, patient_id)
    drafts = read_draft_orders(bundle, catalog=kb.catalog, patient_id=patient_id)
    judged = drafts
    if scenario.hook == "order-select":
        judged = selected_drafts(drafts, [f"MedicationRequest/{draft_id(n)}" for n in scenario.select] or None)
    findings = check_orders(drafts, judged, facts, kb, drafted_services=drafted_service_codes(bundle, patient_id))
    cards = render_findings(findings, patient_id, kb) + render_reported(
        (), kb, source_label=kb.order_source_label, facts=facts, drafted=kept_drugs(judged, findings))
    return {**_findings_outcome(findings), **_card_outcome(cards)}


def problems(expect: Expect, actual: Outcome) -> list[str]:
    """Every way ``actual`` differs from what the scenario expects (empty: it passes)."""
    found: list[str] = []
    for name in sorted(expect.model_fields_set):
        wanted = _plain(getattr(expect, name))
        got = actual.get(name)
        if name in ("supportive", "supportive_drugs"):
            ok = sorted(wanted) == sorted(got or ())
        elif name == "doses":
            ok = all(any(_dose_matches(w, g) for g in got or ()) for w in wanted)
        elif name == "fixes":
            got = got or {}
            ok = set(wanted) == set(got) and all(
                len(w) == len(got[check]) and all(_dose_matches(a, b) for a, b in zip(w, got[check], strict=True))
                for check, w in wanted.items())
        elif name == "indicators":
            ok = all((got or {}).get(topic) == indicator for topic, indicator in wanted.items())
        elif name == "texts":
            missing = [t for t in wanted if t not in actual["text"]]
            if missing:
                found.append(f"texts: no card says {_show(missing)}")
            continue
        elif name == "no_texts":
            present = [t for t in wanted if t in actual["text"]]
            if present:
                found.append(f"no_texts: a card says {_show(present)}")
            continue
        else:
            ok = wanted == got
        if not ok:
            found.append(f"{name}: expected {_show(wanted)}, got {_show(got)}")
    return found


def summary(actual: Outcome) -> dict[str, Any]:
    return {key: actual.get(key) for key in SUMMARY_KEYS}


# -- outcome parts -------------------------------------------------------------------------------
def _decision_outcome(decision: RelapseDecision) -> Outcome:
    family = decision.treatment
    treatment = family.treatment if family is not None else None
    recommended = treatment.recommended if treatment is not None else None
    salvage = decision.family("salvage-transplant")
    out: Outcome = {
        "status": decision.status,
        "row": treatment.row_id if treatment else None,
        "list_row": treatment.list_row_id if treatment else None,
        "options": [o.regimen_id for o in treatment.options] if treatment else None,
        "recommended": recommended.regimen_id if recommended else None,
        "excluded": {e.regimen_id: e.rule_id for e in treatment.exclusions} if treatment else None,
        "modifier": (treatment.modifiers[0].kind if treatment.modifiers else "none") if treatment else None,
        "notes": [n.key.rsplit(".", 1)[-1] for n in treatment.notes] if treatment else None,
        "disagreements": len(treatment.disagreements) if treatment else None,
        "supportive": list(dict.fromkeys(m.need for m in family.supportive)) if family else [],
        "supportive_drugs": [m.drug for m in family.supportive if m.drug] if family else [],
        "doses": [_dose(d) for d in recommended.doses] if recommended else [],
        "data_gaps": [g.code for g in decision.data_gaps.gaps] if decision.data_gaps else [],
        "salvage_disagreement": bool(salvage.disagreements) if salvage else None,
        "services": {card.topic: [s.id for s in card.services] for card in decision.info_cards},
    }
    return out


def _findings_outcome(findings: tuple[OrderFinding, ...]) -> Outcome:
    fixes: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        for fix in finding.fixes:
            if fix.measure is not None:
                named = fix.measure.drug or (fix.measure.service.code if fix.measure.service else "")
            else:
                named = ", ".join(fix.draft.generics) if fix.draft is not None else ""
            entry: dict[str, Any] = {"kind": fix.kind, "drug": named}
            if fix.kind == "update" and fix.change is not None and fix.change.dose is not None:
                entry["value"] = fix.change.dose.value
            fixes.setdefault(finding.check_id, []).append(entry)
    return {"findings": [f.check_id for f in findings], "fixes": fixes}


def _card_outcome(cards: list[dict[str, Any]]) -> Outcome:
    topics = [c["source"]["topic"]["code"] for c in cards]
    indicators: dict[str, str] = {}
    for card, topic in zip(cards, topics, strict=True):
        indicators.setdefault(topic, card["indicator"])
    text = json.dumps(cards, ensure_ascii=False)
    for escaped, plain in _UNESCAPE:
        text = text.replace(escaped.replace("\\", "\\\\"), plain).replace(escaped, plain)
    return {"cards": topics, "indicators": indicators, "text": text, "card_list": cards}


def _dose(dose: Any) -> dict[str, Any]:
    return {"drug": dose.drug, "value": dose.value, "unit": dose.unit, "frequency": dose.frequency,
            "period": dose.period, "period_unit": dose.period_unit}


def _dose_matches(wanted: dict[str, Any], got: dict[str, Any]) -> bool:
    return all(got.get(key) == value for key, value in wanted.items() if value is not None)


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return {k: v for k, v in value.model_dump().items() if v is not None}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value


def _patient_id(scenario: Scenario) -> str:
    return scenario.record.patient_id if scenario.record is not None else "pt-1"

