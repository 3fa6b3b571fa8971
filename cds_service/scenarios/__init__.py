"""Scenarios as data: the knowledge base's own test vectors (``clinical_rules/kb/scenarios/``).

``scenarios.yaml``-style files hold named situations and what the service must conclude; one
parametrised test runs them and ``rrmm-cds kb check [--path DIR]`` runs them against an edited copy
of the knowledge base, saying which fail and which changed. ``personas.yaml`` holds the sample
patients' expected cards (``cds_service/samples``), so a preference change needs no Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from cds_service.scenarios.models import PersonaExpect, PersonaFile, Scenario, ScenarioFile
from cds_service.scenarios.outcome import Outcome, outcome, problems, summary
from clinical_rules.kb import KB_DIR, KnowledgeBase
from clinical_rules.kbmodel.loading import load_yaml

SCENARIO_DIR = "scenarios"
PERSONAS_FILE = "personas.yaml"


class ScenarioError(ValueError):
    """A scenario file that cannot be read; the message names file and place."""


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    problems: list[str]
    actual: Outcome
    changed: dict[str, tuple[object, object]] = field(default_factory=dict)  # key -> (before, after)

    @property
    def passed(self) -> bool:
        return not self.problems


def scenario_dir(kb_dir: Path | None = None) -> Path:
    return (kb_dir or KB_DIR) / SCENARIO_DIR


def load_scenarios(kb_dir: Path | None = None) -> tuple[Scenario, ...]:
    """Every scenario of the knowledge base in ``kb_dir`` (the packaged one by default)."""
    found: list[Scenario] = []
    for path in sorted(scenario_dir(kb_dir).glob("*.yaml")):
        if path.name == PERSONAS_FILE:
            continue
        found.extend(_read(path, ScenarioFile).scenarios)  # type: ignore[attr-defined]
    ids = [s.id for s in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ScenarioError(f"scenario ids used twice: {', '.join(duplicates)}")
    return tuple(found)


def load_persona_expectations(kb_dir: Path | None = None) -> dict[str, PersonaExpect]:
    return dict(_read(scenario_dir(kb_dir) / PERSONAS_FILE, PersonaFile).personas)  # type: ignore[attr-defined]


def run(scenario: Scenario, kb: KnowledgeBase, baseline: KnowledgeBase | None = None) -> ScenarioResult:
    """The scenario under ``kb``; with ``baseline``, also what changed against it."""
    actual = outcome(scenario, kb)
    changed: dict[str, tuple[object, object]] = {}
    if baseline is not None and baseline is not kb:
        before, after = summary(outcome(scenario, baseline)), summary(actual)
        changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    return ScenarioResult(scenario, problems(scenario.expect, actual), actual, changed)


def _read(path: Path, model: type) -> object:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
        return model.model_validate(data)
    except FileNotFoundError:
        raise ScenarioError(f"{path.name}: missing") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path.name}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        lines = [f"{path.name}: {_where(e['loc'], data)}: {str(e['msg']).removeprefix('Value error, ')}"
                 for e in exc.errors()]
        raise ScenarioError("\n".join(lines)) from None


def _where(loc: tuple, data: object) -> str:
    names: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            names.append(str(node.get("id", part)) if isinstance(node, dict) else str(part))
        else:
            node = node.get(part) if isinstance(node, dict) else None
            names.append(str(part))
    return ".".join(names)
