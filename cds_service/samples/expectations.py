"""Compare a CDS Hooks response with what a sample persona says it should get (``Persona.expect``).

Used by ``rrmm-cds fixtures check`` and the integration tests.

The vocabulary is the persona catalog's: ``topics`` (must be present), ``absentTopics``,
``indicators`` (topic -> indicator), ``recommended`` (the recommended regimen's drug set, read from
its MedicationRequests' RxNorm codes, else their text), ``forbiddenDrugs`` (in no suggestion),
``doses`` (structured dose on the recommended regimen's drug), ``noCards``.
"""

from __future__ import annotations

from typing import Any

from clinical_rules.kb import load_knowledge_base

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def drug_of(resource: dict[str, Any]) -> str | None:
    """The drug a suggested MedicationRequest orders: its RxNorm code in the drug catalogue (the
    knowledge base's), else its text."""
    concept = resource.get("medicationCodeableConcept") or {}
    catalog = load_knowledge_base().catalog
    for coding in concept.get("coding", []):
        drug = catalog.by_code(coding.get("code", "")) if coding.get("system") == RXNORM else None
        if drug is not None:
            return drug.generic
    text = concept.get("text")
    return text.lower() if isinstance(text, str) else None


def topic(card: dict[str, Any]) -> str | None:
    return (card.get("source", {}).get("topic") or {}).get("code")


def _created(suggestion: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["resource"] for a in suggestion.get("actions", []) if a.get("type") == "create" and "resource" in a]


def problems(cards: list[dict[str, Any]], expect: dict[str, Any]) -> list[str]:
    """Every way ``cards`` differ from ``expect``; empty when they match."""
    found: list[str] = []
    topics = [topic(card) for card in cards]
    if expect.get("noCards"):
        return [f"expected no cards, got {topics}"] if cards else []
    found += [f"missing topic {t}" for t in expect.get("topics", []) if t not in topics]
    found += [f"unexpected topic {t}" for t in expect.get("absentTopics", []) if t in topics]
    for name, indicator in expect.get("indicators", {}).items():
        got = [c["indicator"] for c in cards if topic(c) == name]
        if got and indicator not in got:
            found.append(f"{name} indicator {got} != {indicator}")
    treatment = next((c for c in cards if topic(c) == "treatment-recommendation"), None)
    recommended = next((s for s in (treatment or {}).get("suggestions", []) if s.get("isRecommended")), None)
    if "recommended" in expect:
        drugs = sorted({drug_of(r) or "?" for r in _created(recommended or {})})
        if drugs != sorted(expect["recommended"]):
            found.append(f"recommended {drugs} != {sorted(expect['recommended'])}")
    for dose in expect.get("doses", []):
        values = [
            (d.get("doseAndRate", [{}])[0].get("doseQuantity", {}).get("value"),
             d.get("doseAndRate", [{}])[0].get("doseQuantity", {}).get("unit"))
            for r in _created(recommended or {}) if drug_of(r) == dose["drug"]
            for d in r.get("dosageInstruction", [])
        ]
        if (dose["value"], dose["unit"]) not in values:
            found.append(f"{dose['drug']} dose {values} lacks {dose['value']} {dose['unit']}")
    forbidden = set(expect.get("forbiddenDrugs", []))
    for card in cards:
        for suggestion in card.get("suggestions", []):
            for resource in _created(suggestion):
                if drug_of(resource) in forbidden:
                    found.append(f"forbidden {drug_of(resource)} suggested in {topic(card)}")
    return found
