"""Argument types and one-line error helpers shared by the subcommands (not a command itself)."""

from __future__ import annotations

import argparse
import re
from datetime import date

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def iso_date(value: str) -> date:
    """``--date`` values: YYYY-MM-DD, with a message that says so (not the parser's name)."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def database_url(value: str) -> str:
    """``--database-url`` values: a SQLAlchemy URL (sqlite:///PATH, postgresql://...)."""
    if not _URL.match(value.strip()):
        raise argparse.ArgumentTypeError(
            f"not a database URL: {value!r} (expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB)"
        )
    return value.strip()
