"""Lenient FHIR date parsing: date, dateTime (with or without zone), instant, partial dates.

Clinical dates are read as the calendar day the EHR wrote down (the local date before any
``T``): converting "2025-03-12T23:30:00-05:00" to UTC would move the event to the next day.
Partial dates take the first day of the period ("2024" -> 2024-01-01, "2024-05" -> 2024-05-01).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def parse_date(value: Any) -> date | None:
    """The calendar date of a FHIR date/dateTime/instant string; None for anything else."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    if len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:  # fast path for the common full date / dateTime
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    match = _DATE.match(value)
    if not match:
        return None
    year, month, day = match.groups()
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


def period_start(period: Any) -> date | None:
    return parse_date(period.get("start")) if isinstance(period, dict) else None


def period_end(period: Any) -> date | None:
    return parse_date(period.get("end")) if isinstance(period, dict) else None


def effective_date(resource: dict[str, Any]) -> date | None:
    """When an Observation (or similar) applies: ``effective[x]``, else ``issued``."""
    text = resource.get("effectiveDateTime")
    if text.__class__ is str and len(text) >= 10 and text[4] == "-" and text[7] == "-":
        try:  # the usual case, without the calls of the general path (run for every Observation)
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    for key in ("effectiveDateTime", "effectiveInstant"):
        found = parse_date(resource.get(key))
        if found:
            return found
    found = period_start(resource.get("effectivePeriod"))
    if found:
        return found
    timing = resource.get("effectiveTiming")
    if isinstance(timing, dict):
        events = timing.get("event")
        if isinstance(events, list) and events:
            found = parse_date(events[0])
            if found:
                return found
    return parse_date(resource.get("issued"))


def completed_years(birth: date, on: date) -> int:
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def months_between(start: date, end: date) -> float:
    """Calendar-average months (365.25 / 12 days), for ASCT-to-progression intervals."""
    return (end - start).days / (365.25 / 12)
