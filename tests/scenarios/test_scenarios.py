"""Every scenario of the knowledge base (clinical_rules/kb/scenarios/*.yaml) against the packaged
knowledge base: named situations with the row, regimens, supportive care, doses, cards, data gaps
and order findings they must give."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from helpers import assert_valid_cds_response

from cds_cards.fhir_resources import validate
from cds_service.scenarios import ScenarioError, load_scenarios, run, scenario_dir
from cds_service.scenarios.outcome import facts_of
from clinical_rules.kb import KB_DIR, load_knowledge_base

KB = load_knowledge_base()
SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario(scenario):
    result = run(scenario, KB)
    assert result.passed, "\n".join(result.problems)


def test_scenarios_cover_every_hook_and_every_kind_of_input():
    assert {s.hook for s in SCENARIOS} == {"patient-view", "order-select", "order-sign"}
    assert any(s.record for s in SCENARIOS) and any(s.patient for s in SCENARIOS)
    assert len(SCENARIOS) >= 150


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.hook == "patient-view"][::5], ids=lambda s: s.id)
def test_scenario_cards_are_spec_valid_fhir(scenario):
    """A sample of the scenarios' cards: response schema, and every created resource is FHIR R4."""
    from cds_cards.patient_view import render

    cards = render(facts_of(scenario, KB), KB)
    assert_valid_cds_response({"cards": cards})
    for card in cards:
        for suggestion in card.get("suggestions", []):
            for action in suggestion.get("actions", []):
                if "resource" in action:
                    validate(action["resource"])


def test_scenario_files_validate_against_their_schema():
    schema = json.loads((KB_DIR / "schema" / "scenarios.schema.json").read_text(encoding="utf-8"))
    for path in sorted(scenario_dir().glob("*.yaml")):
        if path.name == "personas.yaml":
            continue
        # As an editor sees it: YAML dates are text in JSON.
        document = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
        jsonschema.Draft202012Validator(schema).validate(document)


def test_a_broken_scenario_file_names_the_scenario(tmp_path):
    directory = tmp_path / "kb"
    (directory / "scenarios").mkdir(parents=True)
    (directory / "scenarios" / "x.yaml").write_text(
        "scenarios:\n  - id: bad-one\n    about: x\n    patient: {refractory_too: [lenalidomide]}\n    expect: {}\n")
    with pytest.raises(ScenarioError, match="x.yaml: scenarios.bad-one.patient.refractory_too"):
        load_scenarios(directory)
