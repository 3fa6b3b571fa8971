"""Synthetic but realistic RRMM patient records for the patient-view benchmark.

A 67-year-old with myeloma diagnosed ~6 years before the evaluation date and three lines of
therapy (VRd induction -> autologous transplant -> lenalidomide maintenance -> progression ->
DKd -> progression now), with the serial labs a real record accumulates: M-protein with nadir
and rise, free light chains, creatinine/eGFR, blood counts, chemistry, vital signs, plus
FISH, ECOG and LVEF findings. Observations look like EHR output (category, display text,
issued, reference ranges, interpretation), about 1 kB each, so 1,000 Observations make a
request of roughly 1 MB.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from cds_service.services import PREFETCH

EVALUATION_DATE = date(2026, 3, 15)
PATIENT_ID = "bench-patient-1"
YEARS_OF_HISTORY = 6
_LOINC = "http://loinc.org"
_UCUM = "http://unitsofmeasure.org"
_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
_SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}

# (LOINC, display, unit, low, high, baseline): the analytes a myeloma record repeats most.
LAB_PANEL: list[tuple[str, str, str, float, float, float]] = [
    (
        "33358-3",
        "Protein.monoclonal [Mass/volume] in Serum or Plasma by Electrophoresis",
        "g/dL",
        0.0,
        0.0,
        0.3,
    ),
    ("36916-5", "Kappa light chains.free [Mass/volume] in Serum", "mg/L", 3.3, 19.4, 40.0),
    ("33944-0", "Lambda light chains.free [Mass/volume] in Serum", "mg/L", 5.7, 26.3, 11.0),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.2, 1.1),
    (
        "98979-8",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] (CKD-EPI 2021)",
        "mL/min/{1.73_m2}",
        60,
        120,
        68,
    ),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 16.0, 11.4),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150, 400, 182),
    ("751-8", "Neutrophils [#/volume] in Blood by Automated count", "10*3/uL", 1.8, 7.7, 3.1),
    ("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 8.6, 10.3, 9.4),
    ("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 3.5, 5.2, 3.8),
    ("2532-0", "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 120, 246, 190),
    (
        "1920-8",
        "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
        10,
        40,
        24,
    ),
]
VITALS: list[tuple[str, str, str, float]] = [
    ("29463-7", "Body weight", "kg", 78.0),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", 132.0),
    ("8867-4", "Heart rate", "/min", 74.0),
]
# (generic, rxnorm, line start offset in days before evaluation, line end offset or None)
THERAPY_LINES: list[tuple[str, list[tuple[str, str]], int, int | None]] = [
    ("VRd", [("bortezomib", "358258"), ("lenalidomide", "342369"), ("dexamethasone", "3264")], 2190, 2010),
    ("maintenance", [("lenalidomide", "342369")], 1900, 760),
    ("DKd", [("daratumumab", "1722365"), ("carfilzomib", "1302966"), ("dexamethasone", "3264")], 740, None),
]


def patient_record(observations: int) -> list[dict[str, Any]]:
    """All resources of one patient with exactly ``observations`` Observations."""
    resources: list[dict[str, Any]] = [_patient(), *_conditions(), _transplant()]
    resources += _therapy_history()
    resources += _findings()
    lab_count = max(0, observations - len(_findings()))
    resources += _serial_observations(lab_count)
    return resources


def patient_view_request(observations: int) -> dict[str, Any]:
    """A patient-view call carrying the record in the service's prefetch keys."""
    keyed: dict[str, list[dict[str, Any]]] = {key: [] for key in PREFETCH if key != "patient"}
    patient: dict[str, Any] | None = None
    for resource in patient_record(observations):
        kind = resource["resourceType"]
        if kind == "Patient":
            patient = resource
        elif kind == "Observation":
            category = resource["category"][0]["coding"][0]["code"]
            key = {"laboratory": "labObservations", "vital-signs": "vitalSigns"}.get(
                category, "findingObservations"
            )
            keyed[key].append(resource)
        else:
            keyed[_KEY_BY_TYPE[kind]].append(resource)
    prefetch: dict[str, Any] = {"patient": patient}
    for key, items in keyed.items():
        prefetch[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(items),
            "entry": [
                {
                    "fullUrl": f"https://fhir.example.org/{r['resourceType']}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in items
            ],
        }
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench-oncologist", "patientId": PATIENT_ID},
        "prefetch": prefetch,
    }


_KEY_BY_TYPE = {
    "Condition": "conditions",
    "MedicationStatement": "medicationStatements",
    "MedicationRequest": "medicationRequests",
    "MedicationAdministration": "medicationAdministrations",
    "Procedure": "procedures",
}


def _day(days_before: int) -> date:
    return EVALUATION_DATE - timedelta(days=days_before)


def _patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "meta": {"lastUpdated": "2026-03-14T10:00:00-05:00"},
        "identifier": [
            {"use": "usual", "system": "http://hospital.example.org/fhir/sid/mrn", "value": "MRN0000001"}
        ],
        "active": True,
        "name": [{"use": "official", "family": "Benchmark", "given": ["Patient"]}],
        "gender": "female",
        "birthDate": "1958-09-20",
    }


def _conditions() -> list[dict[str, Any]]:
    def condition(cid: str, system: str, code: str, text: str, onset: date) -> dict[str, Any]:
        return {
            "resourceType": "Condition",
            "id": cid,
            "clinicalStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "problem-list-item",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": system, "code": code, "display": text}], "text": text},
            "subject": _SUBJECT,
            "onsetDateTime": onset.isoformat(),
        }

    icd = "http://hl7.org/fhir/sid/icd-10-cm"
    return [
        condition("cond-mm", icd, "C90.00", "Multiple myeloma not having achieved remission", _day(2200)),
        condition("cond-htn", icd, "I10", "Essential hypertension", _day(3000)),
        condition("cond-hld", icd, "E78.5", "Hyperlipidemia, unspecified", _day(3100)),
    ]


def _transplant() -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": "proc-asct",
        "status": "completed",
        "subject": _SUBJECT,
        "code": {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "709115004",
                    "display": "Autologous hematopoietic stem cell transplant",
                }
            ],
            "text": "Autologous stem cell transplant",
        },
        "performedDateTime": _day(1960).isoformat(),
    }


def _medication(generic: str, rxnorm: str) -> dict[str, Any]:
    return {"coding": [{"system": _RXNORM, "code": rxnorm, "display": generic}], "text": generic}


def _therapy_history() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for line_index, (_name, drugs, start, end) in enumerate(THERAPY_LINES):
        for generic, rxnorm in drugs:
            statement: dict[str, Any] = {
                "resourceType": "MedicationStatement",
                "id": f"ms-{line_index}-{generic}",
                "status": "completed" if end is not None else "active",
                "subject": _SUBJECT,
                "medicationCodeableConcept": _medication(generic, rxnorm),
                "effectivePeriod": {"start": _day(start).isoformat()},
                "dateAsserted": _day(start).isoformat(),
            }
            if end is not None:
                statement["effectivePeriod"]["end"] = _day(end).isoformat()
                if line_index == 1:
                    statement["statusReason"] = [{"text": "disease progression"}]
            resources.append(statement)
            # Infused / injected drugs leave an administration per dose (weekly to every 4 weeks).
            if generic in ("bortezomib", "daratumumab", "carfilzomib"):
                interval = 7 if generic != "daratumumab" else 14
                stop = end if end is not None else 3
                for n, days_before in enumerate(range(start, stop, -interval)):
                    resources.append(
                        {
                            "resourceType": "MedicationAdministration",
                            "id": f"ma-{line_index}-{generic}-{n}",
                            "status": "completed",
                            "subject": _SUBJECT,
                            "medicationCodeableConcept": _medication(generic, rxnorm),
                            "effectiveDateTime": f"{_day(days_before).isoformat()}T10:30:00-05:00",
                            "dosage": {
                                "text": f"{generic} per protocol",
                                "dose": {"value": 1.3, "unit": "mg/m2"},
                            },
                        }
                    )
    return resources


def _findings() -> list[dict[str, Any]]:
    def finding(fid: str, code: str, display: str, days_before: int, value: dict[str, Any]) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": fid,
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "exam",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": _LOINC, "code": code, "display": display}], "text": display},
            "subject": _SUBJECT,
            "effectiveDateTime": f"{_day(days_before).isoformat()}T09:00:00-05:00",
            **value,
        }

    negative = {
        "valueCodeableConcept": {"coding": [{"system": _LOINC, "code": "LA6577-6", "display": "Negative"}]}
    }
    return [
        finding("obs-fish-17p", "72824-6", "del(17p) FISH", 2180, negative),
        finding("obs-fish-t414", "72726-3", "t(4;14) FISH", 2180, negative),
        finding("obs-ecog", "89247-1", "ECOG performance status", 20, {"valueInteger": 1}),
        finding(
            "obs-lvef",
            "10230-1",
            "Left ventricular ejection fraction",
            400,
            {"valueQuantity": {"value": 58, "unit": "%", "system": _UCUM, "code": "%"}},
        ),
    ]


def _m_protein_course(days_before: int) -> float:
    """g/dL: high at diagnosis, nadir after transplant, progression on lenalidomide maintenance
    (the reason for DKd), response to DKd, and a confirmed rise again over the last months."""
    if days_before > 2010:
        return 3.1
    if days_before > 1000:
        return 0.2
    if days_before > 760:
        return round(0.2 + (1000 - days_before) * 0.003, 2)  # up to ~0.9 at the switch to DKd
    if days_before > 240:
        return 0.3
    return round(0.3 + (240 - days_before) * 0.005, 2)  # ~1.5 now


def _serial_observations(count: int) -> list[dict[str, Any]]:
    """``count`` lab and vital-sign Observations spread evenly over the years of history."""
    panel = [(*lab, "laboratory") for lab in LAB_PANEL] + [
        (code, display, unit, 0.0, 0.0, base, "vital-signs") for code, display, unit, base in VITALS
    ]
    span_days = YEARS_OF_HISTORY * 365
    observations = []
    m_protein, others = panel[0], panel[1:]
    for n in range(count):
        # Every third result is a serum M-protein: myeloma follow-up measures it at each visit.
        analyte = m_protein if n % 3 == 0 else others[(n - n // 3 - 1) % len(others)]
        code, display, unit, low, high, base, category = analyte
        days_before = span_days - (n * span_days) // max(count, 1)
        value = (
            _m_protein_course(days_before)
            if code == "33358-3"
            else round(base * (1 + ((n * 7919) % 21 - 10) / 200), 2)
        )
        when = _day(days_before)
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"obs-{n}",
            "meta": {"lastUpdated": f"{when.isoformat()}T18:00:00-05:00"},
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": category,
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": _LOINC, "code": code, "display": display}],
                "text": display.split(" [")[0],
            },
            "subject": _SUBJECT,
            "effectiveDateTime": f"{when.isoformat()}T08:{n % 60:02d}:00-05:00",
            "issued": f"{when.isoformat()}T14:{n % 60:02d}:00-05:00",
            "performer": [
                {"reference": "Organization/hospital-lab", "display": "Hospital Clinical Laboratory"}
            ],
            "valueQuantity": {"value": value, "unit": unit, "system": _UCUM, "code": unit},
        }
        if category == "laboratory" and high > 0:
            observation["referenceRange"] = [
                {
                    "low": {"value": low, "unit": unit, "system": _UCUM, "code": unit},
                    "high": {"value": high, "unit": unit, "system": _UCUM, "code": unit},
                }
            ]
            flag = "H" if value > high else "L" if value < low else "N"
            observation["interpretation"] = [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                            "code": flag,
                        }
                    ]
                }
            ]
        observations.append(observation)
    return observations
