"""A failing rule yields a logged error and no card from that rule — never a 500, never a wrong
card — while the independent card families are still given (patient-view; the order hooks are in
tests/orders/test_check_isolation.py). Each family is isolated once, around its decision and its
rendering together."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

import cds_cards.patient_view as patient_view
import clinical_rules.patient_view as rules_view
import clinical_rules.patient_view.treatment as treatment
from cds_cards.patient_view import render
from clinical_rules.kb import KnowledgeBase
from clinical_rules.patient_view import decide
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
    """Second relapse, lenalidomide-refractory after a PI and an IMiD, never transplanted, no FISH:
    treatment, supportive care, salvage ASCT, referral (ciltacabtagene label), work-up and data-gap
    cards are all due."""
    return (
        FactsBuilder().prior_lines(2).refractory_to("lenalidomide").no_cytogenetics().build()
    )


def cards_for(facts: PatientFacts, kb: KnowledgeBase) -> list[dict]:
    return render(facts, kb)


def failing_family(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make family ``name``'s decision raise."""
    families = tuple(replace(f, decide=fail) if f.name == name else f for f in rules_view.FAMILIES)
    monkeypatch.setattr(rules_view, "FAMILIES", families)


def assert_logged_without_patient_data(caplog: pytest.LogCaptureFixture, family: str) -> None:
    records = [r for r in caplog.records if getattr(r, "event", None) == "rule_family_error"]
    assert [(r.family, r.error_type) for r in records] == [(family, "InjectedFailure")]  # type: ignore[attr-defined]
    for record in records:
        assert record.levelno == logging.ERROR and record.exc_info is None
        assert SECRET not in record.getMessage() and "pt-1" not in str(record.__dict__)


def test_baseline_has_every_family(kb: KnowledgeBase) -> None:
    assert topics(cards_for(patient(), kb)) == [
        "treatment-recommendation", "supportive-care", "salvage-transplant", "referral", "relapse-workup", "data-gap",
    ]


@pytest.mark.parametrize(
    ("family", "dropped"),
    [
        ("salvage-transplant", {"salvage-transplant"}),
        ("referral", {"referral"}),
        ("relapse-workup", {"relapse-workup"}),
        ("data-gap", {"data-gap"}),
        # Treatment and its supportive care are one family: both go when either rule fails.
        ("treatment", {"treatment-recommendation", "supportive-care"}),
    ],
)
def test_a_failing_decision_family_drops_only_its_cards(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    family: str, dropped: set[str],
) -> None:
    expected = [t for t in topics(cards_for(patient(), kb)) if t not in dropped]
    failing_family(monkeypatch, family)
    with caplog.at_level(logging.ERROR):
        cards = render(patient(), kb)
    assert topics(cards) == expected
    assert_logged_without_patient_data(caplog, family)
    assert decide(patient(), kb).failed_families == (family,)


@pytest.mark.parametrize("target", ["choose_treatment", "supportive_measures"])
def test_the_treatment_family_fails_as_one(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    monkeypatch.setattr(treatment, target, fail)
    assert topics(cards_for(patient(), kb)) == ["salvage-transplant", "referral", "relapse-workup", "data-gap"]


def test_referral_still_given_when_the_treatment_rule_fails(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    facts = FactsBuilder().prior_lines(4).refractory_to("lenalidomide").build()
    monkeypatch.setattr(treatment, "choose_treatment", fail)
    assert topics(cards_for(facts, kb)) == ["referral", "relapse-workup"]


@pytest.mark.parametrize(
    ("family", "dropped"),
    [("treatment", {"treatment-recommendation", "supportive-care"}), ("data-gap", {"data-gap"})],
)
def test_a_failing_card_renderer_drops_only_its_family(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    family: str, dropped: set[str],
) -> None:
    facts = patient()
    expected = [t for t in topics(render(facts, kb)) if t not in dropped]
    monkeypatch.setitem(patient_view.RENDERERS, family, fail)
    with caplog.at_level(logging.ERROR):
        assert topics(render(facts, kb)) == expected
    assert_logged_without_patient_data(caplog, family)


def test_a_failing_supportive_card_takes_the_treatment_card_with_it(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cds_cards.patient_view.treatment as treatment_cards

    monkeypatch.setattr(treatment_cards, "supportive_card", fail)
    assert topics(render(patient(), kb)) == ["salvage-transplant", "referral", "relapse-workup", "data-gap"]


def test_possible_progression_card_failure_gives_no_cards(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    facts = FactsBuilder().possible_progression().build()
    monkeypatch.setitem(patient_view.RENDERERS, "data-gap", fail)
    assert render(facts, kb) == []


def test_the_patient_view_handler_keeps_the_other_families(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the handler the pipeline calls: a failing family costs its cards, not the response."""
    from cds_service import handlers
    from fhir_mappings.index import ResourceIndex

    facts = patient()
    monkeypatch.setattr(handlers, "build_facts", lambda *_args, **_kwargs: facts)
    failing_family(monkeypatch, "relapse-workup")
    ctx = handlers.HookContext("rrmm-relapse-guidance", "patient-view", "pt-1", facts.evaluation_date,
                               ResourceIndex("pt-1"), {}, kb)
    assert topics(handlers.patient_view_cards(ctx)) == [
        "treatment-recommendation", "supportive-care", "salvage-transplant", "referral", "data-gap"]
