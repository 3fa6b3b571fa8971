"""Drug and code recognition from the project terminology (``fhir_mappings/data``).

``DrugCatalog`` turns a CodeableConcept or free text into the drugs of ``drugs.json``:
RxNorm ingredient / brand / other codes first, then generic, brand and synonym names matched
case-insensitively on word boundaries, the longest name winning where names overlap
("melphalan flufenamide" beats "melphalan"). ``Codes`` answers the questions spec 02 asks of
``codes.json`` (which LOINC codes are serum M-protein, is this Condition a myeloma...).

Both are loaded once per process and cached; they are immutable after loading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import orjson

from fhir_mappings.index import listed
from fhir_mappings.value_sets import (
    ValueSetCode,
    codes_of,
    condition_exclusions,
    condition_inclusions,
    value_sets,
)

RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# Some EHRs send the RxNorm OID instead of the canonical URL.
_RXNORM_SYSTEMS = frozenset({RXNORM_SYSTEM, "urn:oid:2.16.840.1.113883.6.88"})
LOINC_SYSTEM = "http://loinc.org"
SNOMED_SYSTEM = "http://snomed.info/sct"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"

# A name must not be glued to a letter or digit on either side ("heparin" is not in "heparinoid").
_LEFT_BOUNDARY = r"(?<![0-9A-Za-z])"
_RIGHT_BOUNDARY = r"(?![0-9A-Za-z])"
_TEXT_CACHE_SIZE = 4096
# Concepts are memoised by their serialised form; bigger ones are rare and not worth keeping.
_CONCEPT_CACHE_SIZE = 4096
_CONCEPT_KEY_MAX_BYTES = 2048


def _load_json(name: str) -> dict[str, Any]:
    text = resources.files("fhir_mappings").joinpath("data", name).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"fhir_mappings/data/{name} is not a JSON object")
    return data


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive word-boundary regex for ``phrases``, longest alternative first so
    that the longest name wins at any position."""
    unique = sorted({p for p in phrases if p}, key=lambda p: (-len(p), p.lower()))
    if not unique:
        return None
    body = "|".join(re.escape(p) for p in unique)
    return re.compile(f"{_LEFT_BOUNDARY}(?:{body}){_RIGHT_BOUNDARY}", re.IGNORECASE)


def concept_texts(concept: Any) -> Iterator[str]:
    """``CodeableConcept.text`` and every ``coding.display``, skipping malformed parts."""
    if not isinstance(concept, dict):
        return
    text = concept.get("text")
    if isinstance(text, str) and text:
        yield text
    for coding in listed(concept.get("coding")):
        if isinstance(coding, dict):
            display = coding.get("display")
            if isinstance(display, str) and display:
                yield display


def concept_codings(concept: Any) -> Iterator[tuple[str, str]]:
    """(system, code) pairs of a CodeableConcept; system is "" when absent."""
    if not isinstance(concept, dict):
        return
    for coding in listed(concept.get("coding")):
        if isinstance(coding, dict):
            code = coding.get("code")
            system = coding.get("system")
            if isinstance(code, str) and code:
                yield (system if isinstance(system, str) else "", code.strip())


@dataclass(frozen=True, slots=True)
class Drug:
    """One row of ``drugs.json``. ``brands`` holds brand names; their RxNorm codes (and the
    ``other_rxnorm`` codes) are in ``codes`` together with the ingredient code."""

    generic: str
    rxnorm: str | None
    brands: tuple[str, ...]
    classes: tuple[str, ...]
    role: str
    synonyms: tuple[str, ...] = ()
    status: str | None = None
    codes: frozenset[str] = frozenset()  # every RxNorm code that identifies this drug

    @property
    def names(self) -> tuple[str, ...]:
        return (self.generic, *self.brands, *self.synonyms)

    @property
    def is_antimyeloma(self) -> bool:
        return self.role == "antimyeloma"

    @property
    def is_steroid(self) -> bool:
        return self.role == "steroid"


def _drug_from_row(row: dict[str, Any]) -> Drug:
    brands = tuple(b["name"] for b in row.get("brands") or () if isinstance(b, dict) and b.get("name"))
    codes = {row["rxnorm"]} if row.get("rxnorm") else set()
    codes.update(b["rxnorm"] for b in row.get("brands") or () if isinstance(b, dict) and b.get("rxnorm"))
    codes.update(o["code"] for o in row.get("other_rxnorm") or () if isinstance(o, dict) and o.get("code"))
    return Drug(
        generic=row["generic"],
        rxnorm=row.get("rxnorm"),
        brands=brands,
        classes=tuple(row.get("classes") or ()),
        role=row.get("role") or "",
        synonyms=tuple(row.get("synonyms") or ()),
        status=row.get("status"),
        codes=frozenset(codes),
    )


class DrugCatalog:
    """The drugs of ``drugs.json`` and how to recognise them in FHIR."""

    def __init__(self, drugs: Iterable[Drug]) -> None:
        self._drugs: dict[str, Drug] = {d.generic: d for d in drugs}
        self._by_code: dict[str, Drug] = {}
        by_name: dict[str, Drug] = {}
        for drug in self._drugs.values():
            for code in drug.codes:
                self._by_code.setdefault(code, drug)
            for name in drug.names:
                by_name.setdefault(name.lower(), drug)
        self._by_name = by_name
        self._pattern = phrase_pattern(by_name)
        self._text_cache: dict[str, tuple[Drug, ...]] = {}
        self._concept_cache: dict[bytes, tuple[Drug, ...]] = {}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DrugCatalog:
        return cls(_drug_from_row(row) for row in data.get("drugs") or () if isinstance(row, dict))

    @staticmethod
    @cache
    def default() -> DrugCatalog:
        return DrugCatalog.from_json(_load_json("drugs.json"))

    # -- lookups -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Drug]:
        return iter(self._drugs.values())

    def __contains__(self, generic: object) -> bool:
        return generic in self._drugs

    def get(self, generic: str) -> Drug:
        """The drug with this generic name; KeyError for names not in ``drugs.json``."""
        return self._drugs[generic]

    def by_class(self, cls: str) -> tuple[Drug, ...]:
        return tuple(d for d in self._drugs.values() if cls in d.classes)

    def by_code(self, code: str) -> Drug | None:
        return self._by_code.get(code)

    # -- recognition ---------------------------------------------------------------------------
    def identify_text(self, text: Any) -> tuple[Drug, ...]:
        """Every drug named in ``text`` (in order of appearance, each once)."""
        if not isinstance(text, str) or not text or self._pattern is None:
            return ()
        cached = self._text_cache.get(text)
        if cached is None:
            cached = self._scan(text)
            if len(self._text_cache) < _TEXT_CACHE_SIZE:  # the same product names repeat per dose
                self._text_cache[text] = cached
        return cached

    def _scan(self, text: str) -> tuple[Drug, ...]:
        assert self._pattern is not None
        found: dict[str, Drug] = {}
        for match in self._pattern.finditer(text):
            drug = self._by_name.get(match.group(0).lower())
            if drug is not None:
                found.setdefault(drug.generic, drug)
        return tuple(found.values())

    def identify_concept(self, concept: Any) -> tuple[Drug, ...]:
        """Drugs a CodeableConcept names: RxNorm codes first, then names in ``text`` and
        ``coding.display`` (a multi-ingredient product maps to every ingredient it names)."""
        if not isinstance(concept, dict):
            return ()
        # A medication history repeats the same few concepts once per dose: identify each
        # distinct concept (same JSON) once. The result depends on the concept's content only.
        try:
            key = orjson.dumps(concept)
        except TypeError:  # not JSON-serialisable (orjson.JSONEncodeError): just don't memoise
            return self._identify_concept(concept)
        cached = self._concept_cache.get(key)
        if cached is None:
            cached = self._identify_concept(concept)
            if len(key) <= _CONCEPT_KEY_MAX_BYTES and len(self._concept_cache) < _CONCEPT_CACHE_SIZE:
                self._concept_cache[key] = cached
        return cached

    def _identify_concept(self, concept: dict[str, Any]) -> tuple[Drug, ...]:
        found: dict[str, Drug] = {}
        for system, code in concept_codings(concept):
            if system in _RXNORM_SYSTEMS:
                drug = self._by_code.get(code)
                if drug is not None:
                    found.setdefault(drug.generic, drug)
        for text in concept_texts(concept):
            for drug in self.identify_text(text):
                found.setdefault(drug.generic, drug)
        return tuple(found.values())


# -- codes.json ------------------------------------------------------------------------------
def _normalise_icd(code: str) -> str:
    return code.replace(".", "").strip().upper()


@dataclass(frozen=True, slots=True)
class ConceptMatcher:
    """Recognises a condition or procedure by ICD-10-CM prefix, SNOMED / CPT code, or phrase."""

    icd_prefixes: tuple[str, ...] = ()  # normalised: no dots, upper case
    snomed: frozenset[str] = frozenset()
    cpt: frozenset[str] = frozenset()
    text: re.Pattern[str] | None = None
    # Codes that name the condition only to deny it (value_sets.json exclusions, normalised like
    # the prefixes): a Condition coded so is not this condition, whatever its display says.
    excluded_icd: frozenset[str] = frozenset()
    excluded_snomed: frozenset[str] = frozenset()

    def icd_codes(self, concept: Any) -> Iterator[str]:
        """The ICD-10 codes of ``concept`` that this matcher accepts (as sent)."""
        for system, code in concept_codings(concept):
            if _is_icd_system(system) and _normalise_icd(code).startswith(self.icd_prefixes):
                yield code

    def matches_code(self, concept: Any) -> bool:
        for system, code in concept_codings(concept):
            if self.icd_prefixes and _is_icd_system(system) and _normalise_icd(code).startswith(
                self.icd_prefixes
            ):
                return True
            if code in self.snomed and _is_snomed_system(system):
                return True
            if code in self.cpt and (not system or "cpt" in system.lower()):
                return True
        return False

    def excluded_by_code(self, concept: Any) -> bool:
        for system, code in concept_codings(concept):
            if self.excluded_icd and _is_icd_system(system) and _normalise_icd(code) in self.excluded_icd:
                return True
            if code in self.excluded_snomed and _is_snomed_system(system):
                return True
        return False

    def matches_text(self, concept: Any) -> bool:
        if self.text is None:
            return False
        return any(self.text.search(t) for t in concept_texts(concept))

    def matches(self, concept: Any) -> bool:
        return self.matches_code(concept) or self.matches_text(concept)


# OIDs some EHRs (Epic, older interfaces) send instead of the canonical URLs.
_ICD10CM_OID = "urn:oid:2.16.840.1.113883.6.90"
_SNOMED_OID = "urn:oid:2.16.840.1.113883.6.96"


def _is_icd_system(system: str) -> bool:
    # ICD-10-CM, plain WHO ICD-10, or no system at all (ICD codes start with a letter, so they
    # cannot be mistaken for SNOMED codes).
    lowered = system.lower()
    return not system or "icd-10" in lowered or "icd10" in lowered or system == _ICD10CM_OID


def _is_snomed_system(system: str) -> bool:
    return not system or "snomed" in system or system == _SNOMED_OID


def _is_icd_code(code: ValueSetCode) -> bool:
    return _is_icd_system(code.system)


def _matcher(row: dict[str, Any], kind: str = "") -> ConceptMatcher:
    included = condition_inclusions(kind)
    excluded = condition_exclusions(kind)
    return ConceptMatcher(
        icd_prefixes=tuple(_normalise_icd(p) for p in (*(row.get("icd10cm_prefix") or ()),
                                                        *(c.code for c in included if _is_icd_code(c)))),
        snomed=frozenset((*(row.get("snomed") or ()), *(c.code for c in included if not _is_icd_code(c)))),
        cpt=frozenset(row.get("cpt") or ()),
        text=phrase_pattern(row.get("text") or ()),
        excluded_icd=frozenset(_normalise_icd(c.code) for c in excluded if _is_icd_code(c)),
        excluded_snomed=frozenset(c.code for c in excluded if not _is_icd_code(c)),
    )


class Codes:
    """The codes spec 02 relies on, from ``codes.json``."""

    def __init__(self, data: dict[str, Any]) -> None:
        observations = data.get("observations") or {}
        # codes.json's codes of each kind, and every code value_sets.json lists for it.
        self._loinc: dict[str, frozenset[str]] = {
            name: frozenset(row.get("loinc") or ()) | codes_of(name) for name, row in observations.items()
        }
        for name in value_sets().analytes:
            self._loinc.setdefault(name, codes_of(name))
        self._units: dict[str, tuple[str, ...]] = {
            name: tuple(row.get("units") or ()) for name, row in observations.items()
        }
        status = observations.get("disease_status") or {}
        self.progression_value: str = (status.get("progression_value") or {}).get("code", "271299001")
        answers = data.get("answers") or {}
        self.positive_answers = frozenset(a["code"] for a in answers.get("positive") or ())
        self.negative_answers = frozenset(a["code"] for a in answers.get("negative") or ())
        conditions = data.get("conditions") or {}
        self._conditions = {
            name: _matcher(row, name) for name, row in conditions.items() if isinstance(row, dict)
        }
        self.in_relapse_icd = frozenset(
            _normalise_icd(c) for c in conditions.get("in_relapse_icd10cm") or ()
        )
        procedures = data.get("procedures") or {}
        self._procedures = {name: _matcher(row) for name, row in procedures.items()}

    @staticmethod
    @cache
    def default() -> Codes:
        return Codes(_load_json("codes.json"))

    def loinc(self, name: str) -> frozenset[str]:
        """LOINC codes of an observation kind, e.g. ``loinc("serum_m_protein")``."""
        return self._loinc.get(name, frozenset())

    def units(self, name: str) -> tuple[str, ...]:
        return self._units.get(name, ())

    def condition(self, name: str) -> ConceptMatcher:
        """Matcher for a condition kind, e.g. ``condition("multiple_myeloma")``."""
        return self._conditions[name]

    def procedure(self, name: str) -> ConceptMatcher:
        return self._procedures[name]

    def is_in_relapse_icd(self, concept: Any) -> bool:
        return self.in_relapse_code(concept) is not None

    def in_relapse_code(self, concept: Any) -> str | None:
        """The "in relapse" ICD-10 code of ``concept`` as sent (C90.02 ...), if it has one."""
        return next((code for system, code in concept_codings(concept)
                     if _is_icd_system(system) and _normalise_icd(code) in self.in_relapse_icd), None)
