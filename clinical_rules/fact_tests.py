"""The facts a knowledge-base condition may test, by name (rows' ``when``, populations).

``{lenalidomide_refractory: true, min_prior_lines: 2}`` means: the fact is true, and at least two
prior lines. A flag compares a yes/no fact with ``true``/``false``; ``min_*`` / ``max_*`` compare a
count with a bound. A new fact for the knowledge base is one entry here (a small named function of
the patient's facts); the YAML then uses it by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from fhir_mappings.facts import PatientFacts

Kind = Literal["flag", "min", "max"]


@dataclass(frozen=True, slots=True)
class FactTest:
    kind: Kind
    read: Callable[[PatientFacts], bool | int]

    def holds(self, facts: PatientFacts, expected: bool | int) -> bool:
        value = self.read(facts)
        if self.kind == "flag":
            return bool(value) is expected
        if self.kind == "min":
            return int(value) >= expected
        return int(value) <= expected


def _refractory_in_class(class_name: str) -> Callable[[PatientFacts], int]:
    return lambda facts: sum(1 for h in facts.drug_histories if h.refractory and class_name in h.classes)


def _exposed_to_class(class_name: str) -> Callable[[PatientFacts], bool]:
    """Any exposure (refractory or not) to a drug of the class."""
    return lambda facts: any(class_name in h.classes for h in facts.drug_histories)


FACT_TESTS: Mapping[str, FactTest] = {
    "penta_refractory": FactTest("flag", lambda f: f.penta_refractory),
    "triple_class_refractory": FactTest("flag", lambda f: f.triple_class_refractory),
    "lenalidomide_refractory": FactTest("flag", lambda f: f.lenalidomide_refractory),
    "imid_refractory": FactTest("flag", lambda f: f.imid_refractory),
    "pi_refractory": FactTest("flag", lambda f: f.pi_refractory),
    "anti_cd38_exposed": FactTest("flag", lambda f: f.anti_cd38_exposed),
    "pi_exposed": FactTest("flag", _exposed_to_class("PI")),
    "imid_exposed": FactTest("flag", _exposed_to_class("IMiD")),
    "anti_cd38_refractory": FactTest("flag", lambda f: f.anti_cd38_refractory),
    "t11_14_positive": FactTest("flag", lambda f: f.t11_14_positive),
    "frail": FactTest("flag", lambda f: f.frail),
    "min_prior_lines": FactTest("min", lambda f: f.prior_lines),
    "max_prior_lines": FactTest("max", lambda f: f.prior_lines),
    "min_refractory_pis": FactTest("min", _refractory_in_class("PI")),
    "min_refractory_imids": FactTest("min", _refractory_in_class("IMiD")),
}


def condition_holds(when: Mapping[str, bool | int], facts: PatientFacts) -> bool:
    """Every test of ``when`` holds (an empty condition always holds)."""
    return all(FACT_TESTS[name].holds(facts, expected) for name, expected in when.items())


def unmet(when: Mapping[str, bool | int], facts: PatientFacts) -> tuple[str, ...]:
    """The tests of ``when`` that do not hold, in the condition's order."""
    return tuple(name for name, expected in when.items() if not FACT_TESTS[name].holds(facts, expected))


def fact_value(name: str, facts: PatientFacts) -> bool | int:
    """What the patient's record says for the named test (2 prior lines, PI-exposed: yes)."""
    return FACT_TESTS[name].read(facts)


def check_condition(when: Mapping[str, object]) -> Mapping[str, bool | int]:
    """Validate a condition read from YAML (pydantic validator): names and value types."""
    for name, expected in when.items():
        test = FACT_TESTS.get(name)
        if test is None:
            raise ValueError(f"unknown fact {name!r} (known: {', '.join(FACT_TESTS)})")
        if test.kind == "flag" and not isinstance(expected, bool):
            raise ValueError(f"{name} is a yes/no fact: write true or false, not {expected!r}")
        if test.kind != "flag" and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 0):
            raise ValueError(f"{name} is a count: write a whole number, not {expected!r}")
    return when  # type: ignore[return-value]
