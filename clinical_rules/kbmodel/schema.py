"""JSON Schemas of the knowledge-base files, generated from the models (for editors: each YAML
file names its schema in a ``# yaml-language-server: $schema=...`` first line). The models are
the source of truth; ``rrmm-cds kb schema`` rewrites the files and a test keeps them current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clinical_rules.kbmodel.document import FILES, KnowledgeBaseDocument

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def file_schemas() -> dict[str, dict[str, Any]]:
    """``rules.schema.json`` -> its schema, one per knowledge-base file."""
    document = KnowledgeBaseDocument.model_json_schema(mode="validation")
    definitions = document.get("$defs", {})
    schemas = {}
    for name, keys in FILES.items():
        schemas[name.replace(".yaml", ".schema.json")] = _file_schema(name, {k: document["properties"][k] for k in keys},
                                                                      list(keys), definitions)
    return schemas


def _file_schema(title: str, properties: dict[str, Any], required: list[str], definitions: dict[str, Any]
                 ) -> dict[str, Any]:
    used = _referenced(properties, definitions)
    schema: dict[str, Any] = {"$schema": DRAFT, "title": f"RRMM knowledge base: {title}", "type": "object",
                              "properties": properties, "required": required, "additionalProperties": False}
    if used:
        schema["$defs"] = {name: definitions[name] for name in sorted(used)}
    return schema


def model_schema(title: str, model: Any) -> dict[str, Any]:
    """A whole-file schema from one model (the scenario files)."""
    schema = model.model_json_schema(mode="validation")
    return {"$schema": DRAFT, "title": title, **schema}


def write_schemas(directory: Path, extra: dict[str, dict[str, Any]] | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in {**file_schemas(), **(extra or {})}.items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def _referenced(node: Any, definitions: dict[str, Any], found: set[str] | None = None) -> set[str]:
    found = set() if found is None else found
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name not in found:
                found.add(name)
                _referenced(definitions.get(name), definitions, found)
        for value in node.values():
            _referenced(value, definitions, found)
    elif isinstance(node, list):
        for value in node:
            _referenced(value, definitions, found)
    return found
