"""Whole numbers the serving layer reads from the environment (ports, seconds, worker counts).

Unset or blank is the default; anything else that is not a whole number in range stops the
process with one line on stderr and exit status 2, the way every other configuration error
does, rather than a traceback from ``int()`` in the gunicorn master (or a worker class body).
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn


def refuse(message: str) -> NoReturn:
    """Stop with ``rrmm-cds: configuration error: <message>`` and exit status 2."""
    print(f"rrmm-cds: configuration error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def int_from_env(*names: str, default: int, minimum: int, maximum: int | None = None,
                 what: str = "a whole number") -> int:
    """The first of ``names`` that is set, as an int in ``minimum``..``maximum``, else ``default``.
    ``what`` completes "NAME must be …" when the value is not a whole number (or, without a
    maximum, when it is below the minimum)."""
    for name in names:
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            refuse(f"{name} must be {what}")
        if maximum is not None and not minimum <= value <= maximum:
            refuse(f"{name} must be between {minimum} and {maximum}")
        if value < minimum:
            refuse(f"{name} must be {what}")
        return value
    return default
