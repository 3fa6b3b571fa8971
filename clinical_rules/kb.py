"""The knowledge base: YAML files in ``clinical_rules/kb/``, merged, schema-validated, cached.

The YAML is the clinician-reviewable source of truth (regimens, doses, rules' parameters,
supportive care, card texts, decision log). :func:`load_knowledge_base` reads it once per path,
checks it against ``kb/schema.json`` and against itself (every regimen, drug and service a rule
names must exist) and raises :class:`KnowledgeBaseError` with every problem listed otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

KB_DIR = Path(__file__).resolve().parent / "kb"
SCHEMA_FILE = "schema.json"


class KnowledgeBaseError(ValueError):
    """The knowledge base cannot be used; the message says which file and field is wrong."""


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """Read-only view of the merged knowledge base. ``data`` is the validated document."""

    data: dict[str, Any]
    directory: Path

    @property
    def version(self) -> str:
        return self.data["version"]

    @property
    def drugs(self) -> dict[str, dict[str, Any]]:
        return self.data["drugs"]

    @property
    def regimens(self) -> dict[str, dict[str, Any]]:
        return self.data["regimens"]

    @property
    def doses(self) -> dict[str, dict[str, Any]]:
        return self.data["doses"]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.data["rows"]

    @property
    def hard_rules(self) -> dict[str, Any]:
        return self.data["hard_rules"]

    @property
    def modifiers(self) -> dict[str, Any]:
        return self.data["modifiers"]

    @property
    def supportive_care(self) -> list[dict[str, Any]]:
        return self.data["supportive_care"]

    @property
    def services(self) -> dict[str, dict[str, str]]:
        return self.data["services"]

    @property
    def cards(self) -> dict[str, Any]:
        return self.data["cards"]

    @property
    def decision_log(self) -> list[dict[str, str]]:
        return self.data["decision_log"]

    @property
    def source_label(self) -> str:
        """``source.label`` of the patient-view (relapse guidance) cards."""
        return self.cards["source_label"].format(version=self.version)

    @property
    def order_source_label(self) -> str:
        """``source.label`` of the order-select / order-sign cards."""
        return self.cards["order_source_label"].format(version=self.version)

    def row(self, row_id: str) -> dict[str, Any]:
        for row in self.rows:
            if row["id"] == row_id:
                return row
        raise KeyError(row_id)

    def classes_of(self, drug: str) -> tuple[str, ...]:
        entry = self.drugs.get(drug)
        return tuple(entry["classes"]) if entry else ()

    def rxnorm_of(self, drug: str) -> str | None:
        entry = self.drugs.get(drug)
        return entry["rxnorm"] if entry else None

    def regimen_label(self, regimen_id: str) -> str:
        """"DRd — daratumumab, lenalidomide, dexamethasone"."""
        return f"{regimen_id} — {', '.join(self.regimens[regimen_id]['drugs'])}"


def load_knowledge_base(directory: Path | str | None = None) -> KnowledgeBase:
    """Load, validate and cache the knowledge base (the package's own unless ``directory``)."""
    return _load(Path(directory).resolve() if directory is not None else KB_DIR)


@lru_cache(maxsize=8)
def _load(directory: Path) -> KnowledgeBase:
    document = _merge_yaml(directory)
    schema = _read_schema(directory)
    problems = [_describe(error) for error in _schema_errors(document, schema)]
    if not problems:
        problems = _consistency_problems(document)
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise KnowledgeBaseError(f"invalid knowledge base in {directory}:\n{listing}")
    return KnowledgeBase(data=document, directory=directory)


def _merge_yaml(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise KnowledgeBaseError(f"knowledge base directory not found: {directory}")
    merged: dict[str, Any] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise KnowledgeBaseError(f"no knowledge-base YAML files in {directory}")
    for path in files:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise KnowledgeBaseError(f"{path.name}: not valid YAML: {exc}") from exc
        if not isinstance(content, dict):
            raise KnowledgeBaseError(f"{path.name}: expected a mapping of top-level keys")
        for key, value in content.items():
            if key in merged:
                raise KnowledgeBaseError(f"{path.name}: top-level key {key!r} is defined in two files")
            merged[key] = value
    return merged


def _read_schema(directory: Path) -> dict[str, Any]:
    # A KB directory may bring its own schema (a later KB layer); otherwise the package's applies.
    path = directory / SCHEMA_FILE if (directory / SCHEMA_FILE).is_file() else KB_DIR / SCHEMA_FILE
    return json.loads(path.read_text(encoding="utf-8"))


def _schema_errors(document: dict[str, Any], schema: dict[str, Any]) -> list[jsonschema.ValidationError]:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
    return f"{where}: {error.message}"


def _consistency_problems(doc: dict[str, Any]) -> list[str]:
    """Cross-references the schema cannot express: every name a rule uses must be defined."""
    problems: list[str] = []
    drugs, regimens, doses = doc["drugs"], doc["regimens"], doc["doses"]
    row_ids = {row["id"] for row in doc["rows"]}
    for regimen_id, regimen in regimens.items():
        for drug in regimen["drugs"]:
            if drug not in drugs:
                problems.append(f"regimens/{regimen_id}: drug {drug!r} is not in drugs")
            if drug not in doses:
                problems.append(f"regimens/{regimen_id}: no dose for {drug!r} in doses")
    for drug, entry in doses.items():
        if drug not in drugs:
            problems.append(f"doses/{drug}: drug is not in drugs")
        for regimen_id in entry.get("regimens", {}):
            if regimen_id not in regimens:
                problems.append(f"doses/{drug}/regimens: unknown regimen {regimen_id!r}")
    for row in doc["rows"]:
        for key in ("list", "frail_list"):
            for regimen_id in row.get(key, []):
                if regimen_id not in regimens:
                    problems.append(f"rows/{row['id']}/{key}: unknown regimen {regimen_id!r}")
        for target in row.get("lists_of", {}).values():
            if target not in row_ids:
                problems.append(f"rows/{row['id']}/lists_of: unknown row {target!r}")
    for need in doc["supportive_care"]:
        for drug in need.get("options", []) + need.get("prior_vte_options", []):
            if drug not in doses:
                problems.append(f"supportive_care/{need['group']}: no dose for option {drug!r}")
        for service in need.get("services", []):
            if service not in doc["services"]:
                problems.append(f"supportive_care/{need['group']}: unknown service {service!r}")
        for regimen_id in need.get("trigger_regimens", []):
            if regimen_id not in regimens:
                problems.append(f"supportive_care/{need['group']}: unknown regimen {regimen_id!r}")
    catalogue = doc.get("override_reasons", {})
    for kind, codes in doc["cards"]["override_reasons"].items():
        for code in codes:
            if code not in catalogue:
                problems.append(f"cards/override_reasons/{kind}: {code!r} is not in override_reasons")
    withdrawn = set(doc["hard_rules"]["withdrawn"])
    for regimen_id, regimen in regimens.items():
        if withdrawn & set(regimen["drugs"]):
            problems.append(f"regimens/{regimen_id}: contains a withdrawn product (H6)")
    return problems
