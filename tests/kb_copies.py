"""A temporary copy of the knowledge base to edit as a clinician would (YAML only)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from clinical_rules.kb import KB_DIR


def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KB_DIR, target)
    return target


def edit_yaml(directory: Path, name: str, change: Callable[[Any], Any]) -> None:
    """Load ``directory/name``, let ``change`` edit the data in place, write it back."""
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")
