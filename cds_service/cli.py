"""``rrmm-cds``: the console command. Subcommands are discovered from ``cds_service.commands``.

Only the chosen subcommand's module is imported (``rrmm-cds --help`` lists the others from their
module docstrings without importing them), so help and misuse answer at once instead of after
loading the clinical rules.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.metadata
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from cds_service import commands
from cds_service.config import ConfigError


def _command_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))


def _summary(name: str) -> str:
    """The help line of a command not loaded: the text after the colon in its docstring's first line."""
    try:
        source = (Path(commands.__path__[0]) / f"{name}.py").read_text(encoding="utf-8")
        first = (ast.get_docstring(ast.parse(source)) or "").splitlines()[0]
    except (OSError, SyntaxError, IndexError):
        return ""
    first = first.split(":", 1)[1] if ":" in first else first
    return first.replace("``", "").strip().rstrip(".")


def _version() -> str:
    try:
        return importlib.metadata.version("rrmm-cds")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """Misuse is one line on stderr (what is wrong, and where help is), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rrmm-cds",
        description="CDS Hooks 2.0 service: relapsed/refractory multiple myeloma guidance at order entry.",
    )
    parser.add_argument("--version", action="version", version=f"rrmm-cds {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = _command_names()
    tokens = list(sys.argv[1:] if argv is None else argv)
    chosen = next((token for token in tokens if not token.startswith("-")), None)
    for name in names:
        if name != chosen:
            # Not the command asked for (or none was: help, an error message): the name is enough.
            subparsers.add_parser(name, help=_summary(name))
            continue
        module = importlib.import_module(f"{commands.__name__}.{name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except ConfigError as exc:
        print(f"rrmm-cds: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
