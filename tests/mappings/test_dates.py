"""Lenient FHIR date parsing."""

from __future__ import annotations

from datetime import date

import pytest

from fhir_mappings.dates import completed_years, effective_date, parse_date


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-03-12", date(2025, 3, 12)),
    ("2025-03-12T23:30:00-05:00", date(2025, 3, 12)),  # the local calendar day, not UTC
    ("2025-03-12T04:00:00Z", date(2025, 3, 12)),
    ("2025-03-12T04:00:00.123+02:00", date(2025, 3, 12)),
    ("2025-03", date(2025, 3, 1)),
    ("2025", date(2025, 1, 1)),
])
def test_parses_fhir_date_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("junk", [None, 42, "", "yesterday", "2025-13-40", {"start": "2025"}, ["2025"]])
def test_junk_is_none(junk):
    assert parse_date(junk) is None


def test_effective_date_falls_back_to_period_then_issued():
    assert effective_date({"effectivePeriod": {"start": "2024-02-03"}}) == date(2024, 2, 3)
    assert effective_date({"issued": "2024-02-04T10:00:00Z"}) == date(2024, 2, 4)
    assert effective_date({}) is None


def test_completed_years_counts_birthdays():
    assert completed_years(date(1950, 6, 2), date(2025, 6, 1)) == 74
    assert completed_years(date(1950, 6, 1), date(2025, 6, 1)) == 75
