"""The rooms import one way only: cds_service -> cds_cards -> clinical_rules -> fhir_mappings
(a room may use any room to its right, never one to its left), and the rules rooms stay free of
web, storage and HTTP libraries. Every import counts, including those only for type checking."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("cds_service", "cds_cards", "clinical_rules", "fhir_mappings")  # left to right
FORBIDDEN = {
    "fhir_mappings": {"flask", "requests", "sqlalchemy", "werkzeug", "yaml", "pydantic"},
    "clinical_rules": {"flask", "requests", "sqlalchemy", "werkzeug"},
    "cds_cards": {"flask", "requests", "sqlalchemy", "werkzeug"},
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def modules(room: str) -> list[Path]:
    return sorted((ROOT / room).rglob("*.py"))


@pytest.mark.parametrize("room", ROOMS)
def test_no_import_points_left(room):
    allowed = set(ROOMS[ROOMS.index(room):])
    wrong = []
    for path in modules(room):
        for line, name in imports_of(path):
            top = name.split(".")[0]
            if top in ROOMS and top not in allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
            if top in FORBIDDEN.get(room, ()):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name} ({room} must not)")
    assert wrong == []


def test_the_check_sees_a_wrong_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cds_cards.builder import build_card\n")
    assert (3, "cds_cards.builder") in imports_of(module)


def test_the_documented_graph_is_this_one():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert "cds_service  ──>  cds_cards  ──>  clinical_rules  ──>  fhir_mappings" in text
