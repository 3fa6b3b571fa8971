"""Benchmark: FHIR -> PatientFacts for a patient with 10,000 Observations.

    .venv/bin/python benchmarks/mapping_benchmark.py [--observations 10000] [--repeat 7]

Builds a realistic synthetic record (serial M-protein, FLC, creatinine, weight, blood counts,
vital signs, a few hundred drug administrations), then times index building and ``build_facts``
separately and prints the best and median of ``--repeat`` runs. The target (issue 3) is well
under 100 ms for the mapping of 10,000 Observations. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta
from typing import Any

from fhir_mappings import ResourceIndex, build_facts

EVALUATION_DATE = date(2025, 6, 1)
PATIENT = "bench-patient"
# (LOINC, unit, base value): the analytes a real myeloma record repeats most.
_ANALYTES = [
    ("33358-3", "g/dL", 0.4), ("36916-5", "mg/L", 30.0), ("33944-0", "mg/L", 12.0), ("2160-0", "mg/dL", 1.1),
    ("29463-7", "kg", 72.0), ("718-7", "g/dL", 11.5), ("777-3", "10*3/uL", 180.0), ("751-8", "10*3/uL", 3.2),
    ("17861-6", "mg/dL", 9.3), ("1751-7", "g/dL", 3.8), ("2532-0", "U/L", 190.0), ("8480-6", "mm[Hg]", 128.0),
]


def _observation(i: int, loinc: str, unit: str, value: float, when: date) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": f"obs-{i}", "status": "final",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}], "text": loinc},
        "effectiveDateTime": f"{when.isoformat()}T09:30:00-05:00",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def synthetic_record(observations: int) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": PATIENT, "gender": "female", "birthDate": "1958-04-02"},
        {"resourceType": "Condition", "id": "mm", "subject": {"reference": f"Patient/{PATIENT}"},
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C90.00"}]},
         "onsetDateTime": "2019-03-01"},
    ]
    for i in range(observations):
        loinc, unit, base = _ANALYTES[i % len(_ANALYTES)]
        when = EVALUATION_DATE - timedelta(days=(observations - i) * 2000 // observations)
        wobble = 1 + 0.05 * ((i * 7919) % 11 - 5) / 5
        # The M-protein rises over the last weeks: the IMWG computation finds a confirmed event.
        relapse = 3.0 if loinc == "33358-3" and i >= observations * 0.97 else 1.0
        resources.append(_observation(i, loinc, unit, round(base * wobble * relapse, 2), when))
    for i in range(300):  # weekly bortezomib / daratumumab administrations
        when = EVALUATION_DATE - timedelta(days=2000 - i * 6)
        resources.append({
            "resourceType": "MedicationAdministration", "id": f"ma-{i}", "status": "completed",
            "subject": {"reference": f"Patient/{PATIENT}"},
            "medicationCodeableConcept": {"text": "Velcade 3.5 mg" if i % 2 else "DARZALEX FASPRO"},
            "effectiveDateTime": when.isoformat(),
        })
    return resources


def _time(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per run (CPU time is the fairer figure on a busy host)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def _report(label: str, timings: tuple[list[float], list[float]]) -> None:
    wall, cpu = timings
    print(f"{label:12} wall best {min(wall):6.1f} ms  median {statistics.median(wall):6.1f} ms   "
          f"cpu best {min(cpu):6.1f} ms  median {statistics.median(cpu):6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    resources = synthetic_record(args.observations)

    def make_index() -> ResourceIndex:
        index = ResourceIndex(PATIENT)
        index.add_any(resources)
        return index

    index_times = _time(make_index, args.repeat)
    indexes = [make_index() for _ in range(args.repeat)]
    iterator = iter(indexes)
    facts_times = _time(lambda: build_facts(next(iterator), PATIENT, EVALUATION_DATE), args.repeat)
    facts = build_facts(make_index(), PATIENT, EVALUATION_DATE)
    print(f"{len(resources)} resources ({args.observations} Observations), {args.repeat} runs")
    _report("index", index_times)
    _report("build_facts", facts_times)
    print(f"(sanity: {len(facts.exposures)} exposures, {len(facts.progression_events)} progression events)")


if __name__ == "__main__":
    main()
