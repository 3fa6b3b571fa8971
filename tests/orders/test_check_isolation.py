"""Failure isolation in the order hooks: each check runs isolated — a failing check is logged (type only)
and gives no card; the other checks' cards are still given; never a wrong card."""

from __future__ import annotations

import logging

import pytest

import cds_cards.order_cards as order_cards
import clinical_rules.order_checks as order_checks
from cds_cards.order_cards import render_findings
from clinical_rules.kb import KnowledgeBase, load_knowledge_base
from fhir_mappings.draft_orders import read_draft_orders
from fhir_mappings.facts import PatientFacts

from . import builders as orders


class InjectedFailure(RuntimeError):
    """Raised by a monkeypatched check; its message stands for patient data never to be logged."""


SECRET = "p1 creatinine 1.0"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def fail(*_args: object, **_kwargs: object) -> None:
    raise InjectedFailure(SECRET)


def topics(cards: list[dict]) -> list[str]:
    return [card["source"]["topic"]["code"] for card in cards]


def assert_logged_without_patient_data(caplog: pytest.LogCaptureFixture, family: str) -> None:
    records = [r for r in caplog.records if getattr(r, "event", None) == "rule_family_error"]
    # A per-draft check fails once per judged draft: every record names it, nothing else.
    assert records and {(r.family, r.error_type) for r in records} == {(family, "InjectedFailure")}  # type: ignore[attr-defined]
    for record in records:
        assert record.levelno == logging.ERROR and record.exc_info is None
        assert SECRET not in record.getMessage()


def drd_drafts() -> list[dict]:
    return [
        orders.draft("d-dara", orders.DARA, 1800, period_unit="wk", route="SC"),
        orders.draft("d-len", orders.LEN, 25, route="PO"),
        orders.draft("d-dex", orders.DEX, 40, period_unit="wk", route="PO"),
    ]


def run_checks(kb: KnowledgeBase, facts: PatientFacts) -> list[order_checks.OrderFinding]:
    drafts = read_draft_orders({"resourceType": "Bundle", "entry": [{"resource": d} for d in drd_drafts()]})
    return list(order_checks.check_orders(drafts, drafts, facts, kb))


def test_a_failing_order_check_drops_only_its_finding(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    facts = orders.facts(renal=orders.renal(40.0))  # O6 (renal dose), O3 and O4 (prophylaxis) due
    assert {"O6", "O3", "O4"} <= {f.check_id for f in run_checks(kb, facts)}
    monkeypatch.setitem(order_checks.DRAFT_CHECKS, "O6", fail)
    with caplog.at_level(logging.ERROR):
        found = {f.check_id for f in run_checks(kb, facts)}
    assert "O6" not in found and {"O3", "O4"} <= found
    assert_logged_without_patient_data(caplog, "O6")


def test_a_failing_hard_rule_check_leaves_its_draft_unjudged(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without knowing whether lenalidomide must go, no card may adjust it or add its prophylaxis."""
    facts = orders.facts(renal=orders.renal(40.0))
    import clinical_rules.order_checks.checks as checks

    real = checks.drug_exclusion

    def failing_for_lenalidomide(drug: str, *args: object) -> object:
        if drug == "lenalidomide":
            raise InjectedFailure(SECRET)
        return real(drug, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(checks, "drug_exclusion", failing_for_lenalidomide)
    findings = run_checks(kb, facts)
    assert all("d-len" not in {d.resource_id for d in f.drafts} for f in findings)
    assert "O6" not in {f.check_id for f in findings} and "O3" not in {f.check_id for f in findings}
    assert "O4" in {f.check_id for f in findings}  # daratumumab's zoster prophylaxis still asked


def test_a_failing_order_card_renderer_drops_only_that_card(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    findings = run_checks(kb, orders.facts(renal=orders.renal(40.0)))
    real = order_cards.render_finding

    def failing_for_o6(finding: order_checks.OrderFinding, *args: object) -> dict:
        if finding.check_id == "O6":
            raise InjectedFailure(SECRET)
        return real(finding, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(order_cards, "render_finding", failing_for_o6)
    cards = render_findings(findings, "p1", kb)
    assert len(cards) == len(findings) - 1
    assert "dose-adjustment" not in topics(cards)
