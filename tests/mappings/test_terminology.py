"""Drug and code recognition (02 §2.2 drug identity, codes.json lookups)."""

from __future__ import annotations

from fhir_mappings.terminology import ICD10CM_SYSTEM, RXNORM_SYSTEM, SNOMED_SYSTEM, Codes, DrugCatalog

CATALOG = DrugCatalog.default()


def generics(drugs) -> list[str]:
    return [d.generic for d in drugs]


def rxnorm_concept(code: str, display: str | None = None) -> dict:
    coding = {"system": RXNORM_SYSTEM, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def test_default_catalog_is_cached():
    assert DrugCatalog.default() is CATALOG


def test_ingredient_code_identifies_drug():
    assert generics(CATALOG.identify_concept(rxnorm_concept("342369"))) == ["lenalidomide"]


def test_brand_code_identifies_drug():
    assert generics(CATALOG.identify_concept(rxnorm_concept("2375137"))) == ["daratumumab"]


def test_other_rxnorm_code_identifies_drug():
    assert generics(CATALOG.identify_concept(rxnorm_concept("2372199"))) == ["daratumumab"]


def test_code_from_other_system_is_not_rxnorm():
    concept = {"coding": [{"system": "http://hospital.example.org/formulary", "code": "342369"}]}
    assert CATALOG.identify_concept(concept) == ()


def test_brand_text_is_case_insensitive():
    assert generics(CATALOG.identify_text("DARZALEX FASPRO 1800 mg")) == ["daratumumab"]
    assert generics(CATALOG.identify_text("Revlimid 10 mg capsule")) == ["lenalidomide"]


def test_local_coding_display_names_drug():
    concept = {"coding": [{"system": "http://hospital.example.org/formulary", "code": "X1", "display": "Kyprolis 60 mg vial"}]}
    assert generics(CATALOG.identify_concept(concept)) == ["carfilzomib"]


def test_longest_match_wins():
    assert generics(CATALOG.identify_text("melphalan flufenamide 40 mg IV")) == ["melphalan flufenamide"]
    assert generics(CATALOG.identify_text("melphalan 200 mg/m2")) == ["melphalan"]


def test_word_boundaries_required():
    assert CATALOG.identify_text("heparinoid cream") == ()
    assert CATALOG.identify_text("xlenalidomidex") == ()


def test_multi_ingredient_text_maps_to_every_ingredient():
    assert generics(CATALOG.identify_text("bortezomib and dexamethasone")) == ["bortezomib", "dexamethasone"]


def test_synonym_names_drug():
    assert generics(CATALOG.identify_text("daratumumab and hyaluronidase-fihj")) == ["daratumumab"]
    assert generics(CATALOG.identify_text("TMP-SMX DS tablet")) == ["sulfamethoxazole-trimethoprim"]


def test_unknown_drugs_are_ignored():
    assert CATALOG.identify_text("metformin 500 mg") == ()
    assert CATALOG.identify_concept({"text": "atorvastatin"}) == ()
    assert CATALOG.identify_concept(None) == ()
    assert CATALOG.identify_concept({"coding": "not-a-list"}) == ()


def test_by_class_and_get():
    assert set(generics(CATALOG.by_class("anti-CD38"))) == {"daratumumab", "isatuximab"}
    drug = CATALOG.get("dexamethasone")
    assert drug.role == "steroid" and drug.classes == ("steroid",)


def test_condition_matchers():
    codes = Codes.default()
    mm = codes.condition("multiple_myeloma")
    assert mm.matches({"coding": [{"system": ICD10CM_SYSTEM, "code": "C90.00"}]})
    assert mm.matches({"coding": [{"system": SNOMED_SYSTEM, "code": "109989006"}]})
    assert mm.matches({"text": "Plasma cell myeloma"})
    assert not mm.matches({"coding": [{"system": ICD10CM_SYSTEM, "code": "C90.10"}]})
    assert codes.condition("vte_history").matches({"coding": [{"system": ICD10CM_SYSTEM, "code": "I82.401"}]})


def test_in_relapse_icd():
    codes = Codes.default()
    assert codes.is_in_relapse_icd({"coding": [{"system": ICD10CM_SYSTEM, "code": "C90.02"}]})
    assert not codes.is_in_relapse_icd({"coding": [{"system": ICD10CM_SYSTEM, "code": "C90.00"}]})
