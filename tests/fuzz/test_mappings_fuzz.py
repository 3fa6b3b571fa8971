"""Property tests: random FHIR-like JSON never makes fhir_mappings raise (spec 01 §3)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mappings.build import build_facts
from fhir_mappings.draft_orders import read_draft_orders
from fhir_mappings.facts import PatientFacts
from fhir_mappings.index import ResourceIndex

from .fhir_strategies import PATIENT_ID, fhir_resources, json_values, prefetch_values

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(prefetch_values, max_size=8), st.dates(min_value=dt.date(1990, 1, 1)))
def test_index_and_facts_never_raise(values: list[Any], evaluation_date: dt.date) -> None:
    index = ResourceIndex(PATIENT_ID)
    for value in values:
        index.add_any(value)
    facts = build_facts(index, PATIENT_ID, evaluation_date)
    assert isinstance(facts, PatientFacts)


@FUZZ
@given(st.one_of(json_values, st.lists(fhir_resources, max_size=5),
                 st.fixed_dictionaries({"resourceType": st.just("Bundle"),
                                        "entry": st.lists(st.fixed_dictionaries({"resource": fhir_resources}),
                                                          max_size=5)})),
       st.lists(fhir_resources, max_size=4))
def test_draft_orders_never_raise(draft_orders: Any, context_resources: list[Any]) -> None:
    index = ResourceIndex(PATIENT_ID)
    index.add_any(context_resources)
    orders = read_draft_orders(draft_orders, index=index)
    assert isinstance(orders, tuple)


@FUZZ
@given(json_values)
def test_index_accepts_any_json(value: Any) -> None:
    index = ResourceIndex(PATIENT_ID)
    index.add_any(value)
    assert len(index) >= 0
