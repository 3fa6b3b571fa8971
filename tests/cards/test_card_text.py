"""Every persona's cards in every hook, and every scenario's cards, read in ten seconds: length
limits and no internal codes in sentences (04 §1, 03 §8.3; the vignette responses are measured
in tests/e2e). The KB version is on every card."""

from __future__ import annotations

from datetime import date

import pytest
from card_text import INTERNAL_CODE, problems, sentences

from cds_service import samples
from cds_service.scenarios import load_scenarios
from cds_service.scenarios.outcome import outcome
from cds_service.scenarios.personas import offline_pipeline
from cds_service.services import SERVICES
from clinical_rules.kb import load_knowledge_base

KB = load_knowledge_base()
TODAY = date(2026, 3, 1)
HOOKS = ("patient-view", "order-select", "order-sign")


@pytest.mark.parametrize("hook", HOOKS)
def test_every_persona_card_is_short_and_free_of_internal_codes(hook: str) -> None:
    pipeline = offline_pipeline(KB)
    service = next(s for s in SERVICES.values() if s.hook == hook)
    found: list[str] = []
    seen = 0
    for persona in samples.personas():
        request = samples.hook_request(persona, hook, TODAY, prefetch_templates=service.prefetch)
        cards = pipeline.run(service.id, request, TODAY).response["cards"]
        seen += len(cards)
        found += problems(cards, f"{persona.id}/{hook}")
        assert all(card["source"]["label"].endswith(f"KB {KB.version}") for card in cards)
    assert seen, "the personas gave no cards to measure"
    assert found == []


def test_every_scenario_card_is_short_and_free_of_internal_codes() -> None:
    """The scenarios push every rule to its edge; only a data-gap card listing more than four
    missing inputs may run longer (it names every one with what to record, 04 §5)."""
    found: list[str] = []
    measured = 0
    for scenario in load_scenarios():
        cards = outcome(scenario, KB)["card_list"]
        measured += len(cards)
        long_gaps = [c for c in cards if c["source"]["topic"]["code"] == "data-gap" and c["detail"].count("\n- ") > 3]
        found += problems([c for c in cards if c not in long_gaps], scenario.id)
        found += [p for p in problems(long_gaps, scenario.id) if "characters" not in p]
    assert measured > 100, "the scenarios gave (almost) no cards to measure"
    assert found == []


def test_the_measure_can_fail() -> None:
    card = {"summary": "Relapse (R5): consider DVd", "source": {"label": "x · KB 2026.2", "topic": {"code": "referral"}},
            "detail": "- excluded (H2), decision D11, 03 §3\n\n" + "x" * 900 + "\n\n*Rule R5 · KB 2026.2 · Sources: S4*"}
    found = problems([card], "made-up")
    assert any("characters" in p for p in found)
    assert {m.group(0) for t in sentences(card) for m in INTERNAL_CODE.finditer(t)} == {"R5", "H2", "D11", "§"}
    assert not any("Rule R5 · KB" in p for p in found)  # the provenance line may name the rule
