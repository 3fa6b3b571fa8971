"""No clinician-facing English in clinical_rules/ or cds_cards/: every sentence a card shows is a
knowledge-base text. The scan reads every string literal (f-string parts included) outside
docstrings, log messages and exception messages (developer-facing), and flags any that holds a
word; an explicit short allow-list keeps the punctuation and joiners Python composes with."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("clinical_rules", "cds_cards")
# The knowledge base's own models and load-time diagnostics: messages for the KB's editor (file,
# entry, field), never shown on a card.
NOT_CARD_TEXT = ("clinical_rules/kbmodel",)
# Joiners and markup Python may compose sentences with (no clinical content).
ALLOWED = {", ", "; ", " or ", " and ", " · ", "- ", "**", "\n", "\n\n", "…", " — ", "`"}
# Identifiers that are words: FHIR resource and element names, codes, units, keys.
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_./:+#%][A-Za-z0-9]+)*[-/:]?$|^[A-Z][a-z]+[A-Z]\w*$")
_NOT_WORDS = re.compile(r"^https?://\S+$|^&\w+;$")  # URLs, HTML entities
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_WORD = re.compile(r"[A-Za-z]{2,}")
_LOGGERS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Docstrings, and the arguments of log calls and raised exceptions."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skipped.add(id(body[0].value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _LOGGERS:
            skipped |= {id(n) for arg in node.args for n in ast.walk(arg)}
        if isinstance(node, ast.Raise) and node.exc is not None:
            skipped |= {id(n) for n in ast.walk(node.exc)}
        if isinstance(node, ast.Assert) and node.msg is not None:
            skipped |= {id(n) for n in ast.walk(node.msg)}
        # Regular expressions and the names a module exports are not text.
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "compile":
            skipped |= {id(n) for arg in node.args for n in ast.walk(arg)}
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            skipped |= {id(n) for n in ast.walk(node.value)}
    return skipped


def english_literals(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _skipped_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        text = node.value
        if text in ALLOWED or _NOT_WORDS.match(text) or not _WORD.search(_PLACEHOLDER.sub("", text)):
            continue
        # A single identifier-like token ("MedicationRequest", "mg/m2", "O10", "data-gap") is a key.
        if _IDENTIFIER.match(text.strip()) and " " not in text.strip() and not _capitalised_word(text.strip()):
            continue
        found.append(f"{path.relative_to(root)}:{node.lineno}: {text!r}")
    return found


def _capitalised_word(text: str) -> bool:
    """"Why", "Notes": a word as a heading would be; FHIR names ("Patient", "MedicationRequest") pass."""
    return bool(re.fullmatch(r"[A-Z][a-z]+", text)) and text not in _FHIR_TYPES


_FHIR_TYPES = {"Patient", "Bundle", "Observation", "Condition", "Procedure", "Medication", "Coding"}


def test_no_clinician_facing_english_in_the_rules_and_card_rooms():
    found = [hit for room in ROOMS for path in sorted((ROOT / room).rglob("*.py"))
             if not str(path.relative_to(ROOT)).startswith(NOT_CARD_TEXT) for hit in english_literals(path)]
    assert found == []


def test_the_scan_finds_a_sentence(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Docstring prose is fine."""\nimport logging\nlog = logging.getLogger(__name__)\n'
                      'def f(x):\n    log.error("a log message is fine")\n    if x:\n        raise ValueError("so is this")\n'
                      '    return f"Heart failure: {x} first", "Why", "vte-prophylaxis", ", "\n')
    hits = english_literals(module, root=tmp_path)
    assert len(hits) == 2 and any("Heart failure: " in h for h in hits) and any("'Why'" in h for h in hits)
