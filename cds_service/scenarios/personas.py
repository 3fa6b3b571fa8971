"""The sample personas (``cds_service/samples``) through the whole pipeline offline, checked
against their expectations (``scenarios/personas.yaml`` of the knowledge base)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from cds_service import samples
from cds_service.config import Settings
from cds_service.data_gathering import FetchLimits
from cds_service.errors import CdsHttpError
from cds_service.pipeline import Pipeline
from cds_service.samples.expectations import problems
from cds_service.scenarios.models import PersonaExpect
from cds_service.services import SERVICES
from cds_service.timeline.links import decorators_for
from clinical_rules.kb import KnowledgeBase


@dataclass(frozen=True)
class PersonaResult:
    persona: str
    hook: str
    problems: list[str]


def offline_pipeline(kb: KnowledgeBase) -> Pipeline:
    """The pipeline with prefetch only (no FHIR server is ever called) and this knowledge base, with
    the timeline link of a development service."""
    return Pipeline(permits=lambda _url: False, limits=FetchLimits(timeout=1.0, budget=1.0, retries=0), kb=kb,
                    card_decorators=decorators_for(kb, Settings(), lambda: datetime.now(UTC)))


def run_personas(kb: KnowledgeBase, expectations: dict[str, PersonaExpect], today: date,
                 only: list[str] | None = None) -> list[PersonaResult]:
    pipeline = offline_pipeline(kb)
    results: list[PersonaResult] = []
    for persona in samples.personas():
        if only and persona.id not in only:
            continue
        expected = expectations.get(persona.id)
        if expected is None:
            results.append(PersonaResult(persona.id, "-", ["no expectation in personas.yaml"]))
            continue
        for hook, expect in expected.expect.items():
            service = next(s for s in SERVICES.values() if s.hook == hook)
            request = samples.hook_request(persona, hook, today, prefetch_templates=service.prefetch)
            try:
                cards = pipeline.run(service.id, request, today).response["cards"]
            except CdsHttpError as exc:
                found = [f"HTTP {exc.status}: {'; '.join(exc.messages)}"]
            else:
                found = problems(cards, expect.model_dump(exclude_defaults=True))
            results.append(PersonaResult(persona.id, hook, found))
    return results
