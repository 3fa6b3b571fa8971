"""Memoised drug identification per distinct concept gives the answers of a fresh scan."""

from __future__ import annotations

import pytest

from fhir_mappings.terminology import _CONCEPT_KEY_MAX_BYTES, DrugCatalog

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CONCEPTS = [
    {"coding": [{"system": RXNORM, "code": "342369", "display": "lenalidomide"}], "text": "lenalidomide"},
    {"text": "Darzalex Faspro 1800 mg + dexamethasone"},
    {"coding": [{"system": RXNORM, "code": "3264"}]},
    {"text": "acetaminophen"},
    {"coding": "not a list", "text": 7},
]


@pytest.mark.parametrize("concept", CONCEPTS)
def test_repeated_concepts_give_the_fresh_answer(concept: dict) -> None:
    catalog = DrugCatalog.default()
    fresh = DrugCatalog(iter(catalog))._identify_concept(concept)
    assert catalog.identify_concept(concept) == fresh
    assert catalog.identify_concept(dict(concept)) == fresh  # served from the memo


def test_equal_content_different_objects_share_one_entry() -> None:
    catalog = DrugCatalog(iter(DrugCatalog.default()))
    first = catalog.identify_concept({"text": "bortezomib 1.3 mg/m2"})
    second = catalog.identify_concept({"text": "bortezomib 1.3 mg/m2"})
    assert first == second and [drug.generic for drug in first] == ["bortezomib"]
    assert len(catalog._concept_cache) == 1


def test_huge_and_unserialisable_concepts_are_identified_but_not_kept() -> None:
    catalog = DrugCatalog(iter(DrugCatalog.default()))
    huge = {"text": "carfilzomib " + "x" * _CONCEPT_KEY_MAX_BYTES}
    assert [drug.generic for drug in catalog.identify_concept(huge)] == ["carfilzomib"]
    odd = {"text": "pomalidomide", "extension": {1: "non-string key"}}
    assert [drug.generic for drug in catalog.identify_concept(odd)] == ["pomalidomide"]
    assert catalog._concept_cache == {}
