"""Reading the YAML files into the typed document, with errors that name file, entry and field
("rules.yaml: R3.when: unknown fact 'anti_cd38_exposd'"), then locating every entry and text."""

from __future__ import annotations

import logging
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from clinical_rules.kbmodel.base import KBDict, KBModel
from clinical_rules.kbmodel.document import FILE_OF, FILES, KnowledgeBaseDocument, template_namespace
from clinical_rules.kbmodel.templates import Template

_TYPE_TAGS = frozenset({"int", "bool", "float", "str", "none", "dict", "tuple", "list"})

log = logging.getLogger(__name__)

# libyaml's C loader reads the knowledge base ~10x faster than the pure-Python one (it is read at
# every start-up); both build the same plain data from the YAML safe subset.
_SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_warned_pure_python = False


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's C loader when PyYAML was built with it."""
    global _warned_pure_python
    if _SAFE_LOADER is yaml.SafeLoader and not _warned_pure_python:
        _warned_pure_python = True
        log.warning("PyYAML has no libyaml C loader: reading YAML with the slower pure-Python SafeLoader")
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader (C or Python)


class DocumentError(ValueError):
    """The YAML does not make a knowledge base; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def report(directory: Path, problems: Sequence[str]) -> str:
    listing = "\n".join(f"  - {p}" for p in problems)
    return f"invalid knowledge base in {directory}:\n{listing}"


def read_files(directory: Path) -> dict[str, Any]:
    """Every section of the knowledge base as plain data, each from the file that must hold it."""
    if not directory.is_dir():
        raise DocumentError([f"knowledge base directory not found: {directory}"])
    merged: dict[str, Any] = {}
    problems: list[str] = []
    present = {path.name for path in directory.glob("*.yaml")}
    for stray in sorted(present - set(FILES)):
        problems.append(f"{stray}: not a knowledge-base file (the files are {', '.join(FILES)})")
    for name, keys in FILES.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing (it holds {', '.join(keys)})")
            continue
        try:
            content = load_yaml(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.append(f"{name}: not valid YAML: {exc}")
            continue
        if not isinstance(content, dict):
            problems.append(f"{name}: expected a mapping of top-level keys ({', '.join(keys)})")
            continue
        for key, value in content.items():
            home = FILE_OF.get(key)
            if home is None:
                problems.append(f"{name}: unknown top-level key {key!r}")
            elif home != name:
                problems.append(f"{name}: top-level key {key!r} belongs in {home}")
            else:
                merged[key] = value
    if problems:
        raise DocumentError(problems)
    return merged


def validate(raw: dict[str, Any]) -> KnowledgeBaseDocument:
    try:
        document = KnowledgeBaseDocument.model_validate(raw)
    except ValidationError as exc:
        raise DocumentError([_describe(error, raw) for error in exc.errors()]) from None
    locate(document)
    return document


def _describe(error: Mapping[str, Any], raw: dict[str, Any]) -> str:
    loc = [part for part in error["loc"] if not _is_type_tag(part)]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden" and loc:
        message = f"unknown field {loc.pop()!r}"
    elif error["type"] == "missing" and loc:
        missing = loc.pop()
        message = f"missing section {missing!r}" if not loc else f"missing field {missing!r}"
        if not loc:
            return f"{FILE_OF.get(str(missing), 'manifest.yaml')}: {message}"
    return f"{location(loc, raw)}: {message}"


def _is_type_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or "(" in part or part in _TYPE_TAGS)


def location(loc: Sequence[Any], raw: Any = None) -> str:
    """"rules.yaml: R3.when" for loc ("rows", 2, "when"): list items by their id, and a section
    that is a collection of entries (rows, regimens, doses ...) named by the entry alone."""
    if not loc:
        return "knowledge base"
    top = str(loc[0])
    names: list[str] = []
    node = raw
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            names.append(str(item["id"]) if isinstance(item, dict) and "id" in item else str(part))
        else:
            names.append(str(part))
        node = _step(node, part)
    if len(names) > 1 and top in COLLECTIONS:
        names = names[1:]
    return f"{FILE_OF.get(top, '?')}: {'.'.join(names)}"


def _step(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _is_collection(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (dict, tuple)


# Sections that are collections of entries: a location names the entry ("R3", "DRd") first.
COLLECTIONS = frozenset(name for name, field in KnowledgeBaseDocument.model_fields.items()
                        if _is_collection(field.annotation))


def locate(document: KnowledgeBaseDocument) -> None:
    """Give every entry its location and every text its location and knowledge-base values."""
    namespace = template_namespace(document)
    for name in KnowledgeBaseDocument.model_fields:
        _walk(document.__dict__[name], [name], namespace)


def _walk(node: Any, loc: list[Any], namespace: Mapping[str, Any]) -> None:
    if isinstance(node, Template):
        node.bind(location(loc), namespace)
    elif isinstance(node, BaseModel):
        if isinstance(node, KBModel):
            node.__pydantic_private__["_path"] = location(loc)  # type: ignore[index]
        for name, field in type(node).model_fields.items():
            _walk(node.__dict__[name], [*loc, field.alias or name], namespace)
    elif isinstance(node, dict):
        if isinstance(node, KBDict):
            node.kb_path = location(loc)
        for key, value in node.items():
            _walk(value, [*loc, key], namespace)
    elif isinstance(node, tuple):
        for index, item in enumerate(node):
            label = getattr(item, "id", None) if isinstance(item, BaseModel) else None
            _walk(item, [*loc, label if isinstance(label, str) else index], namespace)


def nodes(document: KnowledgeBaseDocument) -> Iterator[Any]:
    """Every model, mapping, list item and text of the document, depth first."""
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, BaseModel):
            children = [node.__dict__[name] for name in type(node).model_fields]
        elif isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, tuple):
            children = list(node)
        else:
            continue
        stack.extend(reversed(children))


def entries(document: KnowledgeBaseDocument) -> list[tuple[KBModel | KBDict, str]]:
    """Every located model and mapping of the document (for the cross-reference and coverage
    checks), with its location."""
    return [(node, node.kb_path) for node in nodes(document) if isinstance(node, KBModel | KBDict)]


def templates(document: KnowledgeBaseDocument) -> list[Template]:
    return [node for node in nodes(document) if isinstance(node, Template)]
