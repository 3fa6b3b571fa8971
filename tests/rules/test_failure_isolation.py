"""Issue 6: a failing rule yields a logged error and no card from that rule — never a 500, never a
wrong card — while the independent card families are still given (patient-view; the order hooks are in tests/orders/test_check_isolation.py)."""

from __future__ import annotations

import logging

import pytest

import cds_cards.patient_view as patient_view
import clinical_rules.relapse as relapse
from cds_cards.patient_view import render
from clinical_rules.kb import KnowledgeBase
from clinical_rules.relapse import decide
from fhir_mappings.facts import PatientFacts

from .builders import FactsBuilder


class InjectedFailure(RuntimeError):
    """Raised by a monkeypatched rule; its message holds 'patient data' that must never be logged."""


SECRET = "pt-1 creatinine 1.0"


def fail(*_args: object, **_kwargs: object) -> None:
    raise InjectedFailure(SECRET)


def topics(cards: list[dict]) -> list[str]:
    return [card["source"]["topic"]["code"] for card in cards]


def patient() -> PatientFacts:
    """Second relapse, lenalidomide-refractory, never transplanted, no FISH: treatment, supportive
    care, salvage ASCT, work-up and data-gap cards are all due."""
    return (
        FactsBuilder().prior_lines(2).refractory_to("lenalidomide").no_cytogenetics().build()
    )


def cards_for(facts: PatientFacts, kb: KnowledgeBase) -> list[dict]:
    return render(decide(facts, kb), facts, kb)


def assert_logged_without_patient_data(caplog: pytest.LogCaptureFixture, family: str) -> None:
    records = [r for r in caplog.records if getattr(r, "event", None) == "rule_family_error"]
    assert [(r.family, r.error_type) for r in records] == [(family, "InjectedFailure")]  # type: ignore[attr-defined]
    for record in records:
        assert record.levelno == logging.ERROR and record.exc_info is None
        assert SECRET not in record.getMessage() and "pt-1" not in str(record.__dict__)


def test_baseline_has_every_family(kb: KnowledgeBase) -> None:
    assert topics(cards_for(patient(), kb)) == [
        "treatment-recommendation", "supportive-care", "salvage-transplant", "relapse-workup", "data-gap",
    ]


@pytest.mark.parametrize(
    ("target", "family", "dropped"),
    [
        ("salvage_transplant_card", "salvage-transplant", {"salvage-transplant"}),
        ("relapse_workup_card", "relapse-workup", {"relapse-workup"}),
        ("data_gaps", "data-gap", {"data-gap"}),
        # Treatment and its supportive care are one family: both go when either rule fails.
        ("choose_treatment", "treatment", {"treatment-recommendation", "supportive-care"}),
        ("supportive_measures", "treatment", {"treatment-recommendation", "supportive-care"}),
    ],
)
def test_a_failing_decision_family_drops_only_its_cards(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    target: str, family: str, dropped: set[str],
) -> None:
    expected = [t for t in topics(cards_for(patient(), kb)) if t not in dropped]
    monkeypatch.setattr(relapse, target, fail)
    with caplog.at_level(logging.ERROR):
        decision = decide(patient(), kb)
        cards = render(decision, patient(), kb)
    assert topics(cards) == expected
    assert decision.failed_families == (family,)
    assert_logged_without_patient_data(caplog, family)


def test_referral_still_given_when_the_treatment_rule_fails(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    facts = FactsBuilder().prior_lines(4).refractory_to("lenalidomide").build()
    monkeypatch.setattr(relapse, "choose_treatment", fail)
    assert topics(cards_for(facts, kb)) == ["referral", "relapse-workup"]


@pytest.mark.parametrize(
    ("target", "family", "dropped"),
    [
        ("_supportive_card", "treatment", {"treatment-recommendation", "supportive-care"}),
        ("_treatment_card", "treatment", {"treatment-recommendation", "supportive-care"}),
        ("_data_gap_card", "data-gap", {"data-gap"}),
    ],
)
def test_a_failing_card_renderer_drops_only_its_family(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    target: str, family: str, dropped: set[str],
) -> None:
    facts = patient()
    decision = decide(facts, kb)
    expected = [t for t in topics(render(decision, facts, kb)) if t not in dropped]
    monkeypatch.setattr(patient_view, target, fail)
    with caplog.at_level(logging.ERROR):
        assert topics(render(decision, facts, kb)) == expected
    assert_logged_without_patient_data(caplog, family)


def test_possible_progression_card_failure_gives_no_cards(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    facts = FactsBuilder().possible_progression().build()
    monkeypatch.setattr(patient_view, "_data_gap_card", fail)
    assert render(decide(facts, kb), facts, kb) == []


def test_the_patient_view_handler_keeps_the_other_families(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the handler the pipeline calls: a failing family costs its cards, not the response."""
    from cds_service import handlers
    from fhir_mappings.index import ResourceIndex

    facts = patient()
    monkeypatch.setattr(handlers, "build_facts", lambda *_args: facts)
    monkeypatch.setattr(relapse, "relapse_workup_card", fail)
    ctx = handlers.HookContext("rrmm-relapse-guidance", "patient-view", "pt-1", facts.evaluation_date,
                               ResourceIndex("pt-1"), {}, kb)
    assert topics(handlers.patient_view_cards(ctx)) == [
        "treatment-recommendation", "supportive-care", "salvage-transplant", "data-gap"]
