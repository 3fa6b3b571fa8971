"""``build_facts``: one ResourceIndex + patient id + evaluation date -> ``PatientFacts``.

Every derivation reads from the index (built once) and from one ``ObservationReader`` that
reads each Observation kind once, so the whole mapping is linear in the number of resources.
Nothing here reads the wall clock: the evaluation date is injected.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fhir_mappings import conditions
from fhir_mappings.cytogenetics import derive_cytogenetics
from fhir_mappings.exposures import merge_exposures, read_history
from fhir_mappings.facts import DataNote, Finding, PatientFacts
from fhir_mappings.index import PRE_R4_DROP, ResourceIndex
from fhir_mappings.lines import build_lines
from fhir_mappings.observations import (
    ECOG,
    FLC_KAPPA,
    FLC_LAMBDA,
    IGG,
    PLASMA_CELLS,
    SERUM_M_PROTEIN,
    URINE_M_PROTEIN,
    ObservationReader,
)
from fhir_mappings.parameters import DEFAULT_PARAMETERS, DerivationParameters
from fhir_mappings.patient_state import (
    body_size,
    demographics,
    heart_failure,
    is_frail,
    is_transplant_eligible,
    latest_lvef,
    renal_function,
    renal_notes,
)
from fhir_mappings.progression import derive_progression
from fhir_mappings.reconcile import reconcile
from fhir_mappings.refractoriness import drug_histories, summarise
from fhir_mappings.terminology import Codes, DrugCatalog
from fhir_mappings.transplant import months_to_progression, transplants


def _patient(index: ResourceIndex, patient_id: str) -> dict[str, Any] | None:
    found = index.get("Patient", patient_id)
    if found is not None:
        return found
    patients = index.of_type("Patient")
    return patients[0] if len(patients) == 1 else None


def build_facts(index: ResourceIndex, patient_id: str, evaluation_date: date,
                catalog: DrugCatalog | None = None, codes: Codes | None = None,
                params: DerivationParameters = DEFAULT_PARAMETERS) -> PatientFacts:
    """Derive every fact of spec 02 for one patient at ``evaluation_date``, with the windows and
    thresholds of ``params`` (the knowledge base's, when called by the service). Never raises on
    input content: malformed or unknown parts of resources are skipped."""
    catalog = catalog or DrugCatalog.default()
    codes = codes or Codes.default()
    reader = ObservationReader(index, evaluation_date, codes)
    demo = demographics(_patient(index, patient_id), evaluation_date)

    # Only 02 §2.1's myeloma codes/phrases make the diagnosis; a Condition coded only C90.1x
    # (plasma cell leukaemia) does not. The spec lists PCL as a presentation of a myeloma patient
    # (secondary PCL: C90.12 next to the C90.0x diagnosis, as the acceptance cases build it),
    # and a record with PCL alone is primary PCL, which the RRMM decision table does not cover:
    # staying silent there is safer than proposing myeloma relapse regimens.
    myeloma = conditions.find_kind(index, codes, "multiple_myeloma")
    plasma_cells = reader.latest(PLASMA_CELLS, params.plasma_cells_recent_days)
    pcl = conditions.find_kind(index, codes, "plasma_cell_leukemia")
    if plasma_cells is not None and plasma_cells.value >= params.pcl_plasma_cell_percent:
        pcl = Finding(True, (*pcl.evidence, plasma_cells.evidence))
    extramedullary = conditions.find_kind(index, codes, "extramedullary",
                                          not_when=conditions.NOT_EXTRAMEDULLARY_DISEASE)

    medication = read_history(index, evaluation_date, catalog)
    records, reconciliation_notes = reconcile(medication.records, evaluation_date, params)
    exposures = merge_exposures(records, evaluation_date, params)
    asct = transplants(index, codes, evaluation_date)
    events, possible = derive_progression(index, reader, records, codes, evaluation_date, params)
    lines = build_lines(exposures, asct, events, params)
    histories = drug_histories(exposures, events, params)
    refractory = summarise(histories, params)

    latest_event = events[-1] if events else None
    if latest_event is not None:
        prior_lines = sum(1 for line in lines if line.start < latest_event.date)
        new_line = any(line.start > latest_event.date for line in lines)
    else:
        prior_lines, new_line = len(lines), False

    cytogenetics = derive_cytogenetics(index, codes, evaluation_date, params.high_risk_abnormalities)
    dialysis = conditions.dialysis(index, codes)
    renal = renal_function(reader, demo, dialysis, evaluation_date, params)
    lvef = latest_lvef(reader)
    ecog = reader.latest(ECOG)
    height, weight, bsa = body_size(reader, params)

    notes: list[DataNote] = [*reader.notes, *renal_notes(renal, params), *reconciliation_notes]
    for reason, count in sorted(index.dropped.items()):
        if reason.startswith(PRE_R4_DROP):
            notes.append(DataNote("pre-r4-resource", f"{count} {reason[len(PRE_R4_DROP):]} resource(s) in FHIR "
                                                     "DSTU2/STU3 format not read (the service reads FHIR R4)"))
        else:
            notes.append(DataNote(_note_code(reason), f"{count} resource(s) ignored: {reason}"))
    if possible is not None:
        # The note names the analyte and date only: values stay in the fact (notes may be logged).
        notes.append(DataNote("possible-progression",
                              f"unconfirmed {possible.analyte} rise on {possible.date.isoformat()}: repeat to confirm"))
    if cytogenetics.missing:
        notes.append(DataNote("missing-cytogenetics",
                              "no result for " + ", ".join(cytogenetics.missing)))
    if any(t.date is None for t in asct):
        notes.append(DataNote("asct-undated", "prior autologous transplant recorded without a date (Z94.84): "
                                              "time from transplant to progression unknown"))
    undated = medication.undated_antimyeloma
    if undated:
        notes.append(DataNote("lines-uncertain", f"{undated} anti-myeloma medication record(s) without a date: "
                                                 "lines of therapy and refractoriness may be incomplete"))
    if demo.birth_date is None:
        notes.append(DataNote("no-birth-date", "birth date unknown: age-based rules cannot apply"))

    return PatientFacts(
        evaluation_date=evaluation_date,
        patient_id=patient_id,
        age=demo.age,
        sex=demo.sex,
        birth_date=demo.birth_date,
        myeloma=myeloma,
        plasma_cell_leukaemia=pcl,
        extramedullary=extramedullary,
        exposures=exposures,
        drug_histories=histories,
        transplants=asct,
        months_asct_to_progression=months_to_progression(asct, events),
        progression_events=events,
        possible_progression=possible,
        lines=lines,
        prior_lines=prior_lines,
        at_relapse=myeloma.present and latest_event is not None and not new_line,
        new_line_after_progression=new_line,
        lenalidomide_refractory=refractory.lenalidomide,
        imid_refractory=refractory.imid,
        pi_refractory=refractory.pi,
        anti_cd38_exposed=refractory.anti_cd38_exposed,
        anti_cd38_refractory=refractory.anti_cd38,
        triple_class_refractory=refractory.triple_class,
        penta_refractory=refractory.penta,
        cytogenetics=cytogenetics.results,
        high_risk=cytogenetics.high_risk,
        t11_14_positive=cytogenetics.t11_14_positive,
        cytogenetics_on_file=cytogenetics.on_file,
        missing_cytogenetics=cytogenetics.missing,
        renal=renal,
        heart_failure=heart_failure(conditions.find_kind(index, codes, "heart_failure", active_only=True), lvef, params),
        lvef_percent=lvef,
        neuropathy=conditions.find_kind(index, codes, "peripheral_neuropathy", active_only=True),
        vte_history=conditions.find_kind(index, codes, "vte_history"),
        ecog=ecog,
        frail=is_frail(ecog, demo.age, params),
        transplant_eligible=is_transplant_eligible(ecog, demo.age, params),
        height_cm=height,
        weight_kg=weight,
        bsa_m2=bsa,
        igg_mg_dl=reader.latest(IGG),  # any date: the IgG recency rule is the consumer's (igg_recent_days)
        circulating_plasma_cells_percent=plasma_cells,
        response_measurements_on_file=any(reader.measurements(kind) for kind in
                                          (SERUM_M_PROTEIN, URINE_M_PROTEIN, FLC_KAPPA, FLC_LAMBDA)),
        notes=tuple(dict.fromkeys(notes)),
    )


def _note_code(reason: str) -> str:
    if reason == "other-patient":
        return "other-patient"
    if reason == "entered-in-error":
        return "entered-in-error"
    return "dropped-" + reason.split("=")[-1].lower()

