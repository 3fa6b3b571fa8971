"""The JSON Schemas for editors are generated from the models and kept current in the repository."""

from __future__ import annotations

import json

import jsonschema
import yaml

from cds_service.commands.kb import scenario_schemas
from clinical_rules.kb import KB_DIR
from clinical_rules.kbmodel.document import FILES
from clinical_rules.kbmodel.schema import file_schemas, render

SCHEMA_DIR = KB_DIR / "schema"


def test_the_committed_schemas_are_the_generated_ones():
    for name, schema in {**file_schemas(), **scenario_schemas()}.items():
        path = SCHEMA_DIR / name
        assert path.is_file(), f"{name} missing: run `rrmm-cds kb schema`"
        assert path.read_text(encoding="utf-8") == render(schema), f"{name} is stale: run `rrmm-cds kb schema`"


def test_every_kb_file_validates_against_its_schema_and_names_it():
    for name in FILES:
        text = (KB_DIR / name).read_text(encoding="utf-8")
        schema_name = name.replace(".yaml", ".schema.json")
        assert text.startswith(f"# yaml-language-server: $schema=schema/{schema_name}"), name
        schema = json.loads((SCHEMA_DIR / schema_name).read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(text))


def test_a_wrong_field_is_an_editor_error():
    schema = json.loads((SCHEMA_DIR / "rules.schema.json").read_text(encoding="utf-8"))
    document = yaml.safe_load((KB_DIR / "rules.yaml").read_text(encoding="utf-8"))
    document["rows"][0]["lisst"] = ["Xd"]
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    assert errors and any("lisst" in e.message for e in errors)
