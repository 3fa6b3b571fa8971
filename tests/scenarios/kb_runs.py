"""Running a knowledge-base directory's scenarios and personas (shared by the scenario tests)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cds_service.scenarios import ScenarioResult, load_persona_expectations, load_scenarios, run
from cds_service.scenarios.personas import PersonaResult, run_personas
from clinical_rules.kb import KnowledgeBase, build_knowledge_base
from clinical_rules.kbmodel import coverage

PERSONA_DATE = date(2026, 3, 15)


def run_all(kb: KnowledgeBase, directory: Path) -> tuple[list[ScenarioResult], list[PersonaResult]]:
    scenarios = [run(s, kb) for s in load_scenarios(directory)]
    return scenarios, run_personas(kb, load_persona_expectations(directory), PERSONA_DATE)


def recorded_run(directory: Path) -> tuple[KnowledgeBase, set[tuple[str, str]], list[ScenarioResult]]:
    """Load ``directory`` afresh and run everything with the coverage recorder on."""
    with coverage.recording() as recorder:
        kb = build_knowledge_base(directory)
        scenarios, _personas = run_all(kb, directory)
    return kb, recorder.reads, scenarios
