"""Lines of therapy, prior lines and "at relapse" (02 §2.5), ASCT (02 §2.3)."""

from __future__ import annotations

from datetime import timedelta

from mapping_builders import (
    BORTEZOMIB,
    CARFILZOMIB,
    CYCLOPHOSPHAMIDE,
    DARATUMUMAB,
    DEXAMETHASONE,
    EVAL,
    LENALIDOMIDE,
    MELPHALAN,
    POMALIDOMIDE,
    administration,
    asct,
    condition,
    disease_status,
    facts_for,
    medication_statement,
    myeloma,
)


def vrd(start: int, end: int) -> list:
    return [medication_statement(BORTEZOMIB, start, end), medication_statement(LENALIDOMIDE, start, end),
            medication_statement(DEXAMETHASONE, start, end)]


def test_drugs_started_within_60_days_share_a_line():
    facts = facts_for(myeloma(), medication_statement(BORTEZOMIB, -900, -700),
                      medication_statement(LENALIDOMIDE, -850, -700))
    (line,) = facts.lines
    assert line.drugs == ("bortezomib", "lenalidomide") and line.number == 1


def test_steroids_never_open_a_line():
    facts = facts_for(myeloma(), medication_statement(DEXAMETHASONE, -900, -700))
    assert facts.lines == ()


def test_progression_between_opens_a_new_line():
    facts = facts_for(myeloma(), medication_statement(BORTEZOMIB, -900, -700), disease_status(-880),
                      medication_statement(LENALIDOMIDE, -860, -700))
    assert [line.drugs for line in facts.lines] == [("bortezomib",), ("lenalidomide",)]


def test_exposure_starting_over_60_days_later_opens_a_new_line():
    facts = facts_for(myeloma(), medication_statement(BORTEZOMIB, -900, -700), medication_statement(CARFILZOMIB, -600, -400))
    assert len(facts.lines) == 2 and facts.lines[1].start == EVAL - timedelta(600)


def test_asct_with_conditioning_mobilisation_and_maintenance_is_one_line():
    resources = [myeloma(), *vrd(-1000, -850), medication_statement(CYCLOPHOSPHAMIDE, -840, -840),
                 medication_statement(MELPHALAN, -802, -802), asct(-800),
                 medication_statement(LENALIDOMIDE, -700, status="active")]
    facts = facts_for(*resources)
    (line,) = facts.lines
    assert line.includes_asct and set(line.drugs) == {"bortezomib", "lenalidomide", "cyclophosphamide", "melphalan"}
    assert line.maintenance_drugs == ("lenalidomide",)
    assert any(e.resource_type == "Procedure" for e in line.evidence)


def test_melphalan_long_before_asct_is_not_conditioning():
    resources = [myeloma(), *vrd(-1000, -850), medication_statement(MELPHALAN, -780, -780), asct(-700)]
    facts = facts_for(*resources)
    assert len(facts.lines) == 2


def test_maintenance_after_other_drugs_end_without_asct():
    resources = [myeloma(), *vrd(-1000, -800), medication_statement(LENALIDOMIDE, -700, status="active")]
    (line,) = facts_for(*resources).lines
    assert line.maintenance_drugs == ("lenalidomide",)


def test_restart_after_progression_is_not_maintenance():
    resources = [myeloma(), *vrd(-1000, -800), disease_status(-750), medication_statement(LENALIDOMIDE, -700, status="active")]
    assert len(facts_for(*resources).lines) == 2


def test_asct_after_progression_does_not_join_line():
    resources = [myeloma(), *vrd(-1000, -900), disease_status(-850), asct(-800)]
    (line,) = facts_for(*resources).lines
    assert not line.includes_asct


def test_prior_lines_and_at_relapse():
    resources = [myeloma(), *vrd(-1000, -800), disease_status(-500),
                 medication_statement(DARATUMUMAB, -450, -100), medication_statement(POMALIDOMIDE, -450, -100),
                 disease_status(-60)]
    facts = facts_for(*resources)
    assert len(facts.lines) == 2 and facts.prior_lines == 2
    assert facts.at_relapse and not facts.new_line_after_progression


def test_new_line_after_latest_progression_means_not_at_relapse():
    resources = [myeloma(), *vrd(-1000, -200), disease_status(-180), administration(CARFILZOMIB, -100),
                 administration(CARFILZOMIB, -70)]
    facts = facts_for(*resources)
    assert facts.new_line_after_progression and not facts.at_relapse and facts.prior_lines == 1


def test_no_myeloma_is_never_at_relapse():
    facts = facts_for(medication_statement(LENALIDOMIDE, -400, status="active"), disease_status(-30))
    assert not facts.myeloma.present and not facts.at_relapse


def test_months_from_asct_to_first_progression_after_it():
    resources = [myeloma(), *vrd(-1400, -1250), asct(-1200), disease_status(-1300), disease_status(-470)]
    facts = facts_for(*resources)
    assert facts.months_asct_to_progression is not None
    assert abs(facts.months_asct_to_progression - 730 / 30.4375) < 0.1


def test_undated_transplant_status_condition():
    facts = facts_for(myeloma(), condition(icd="Z94.84", text="Stem cells transplant status"))
    (transplant,) = facts.transplants
    assert transplant.date is None and facts.months_asct_to_progression is None


def test_asct_recognised_by_cpt_and_by_text_only():
    cpt = asct(-500)
    cpt["code"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "38241"}]}
    text_only = asct(-300)
    text_only["code"] = {"text": "Autologous hematopoietic progenitor cell transplantation"}
    allo = asct(-100)
    allo["code"] = {"text": "Allogeneic stem cell transplant"}
    facts = facts_for(myeloma(), cpt, text_only, allo)
    assert [t.date for t in facts.transplants] == [EVAL - timedelta(500), EVAL - timedelta(300)]


def test_not_completed_procedure_is_not_a_transplant():
    assert facts_for(myeloma(), asct(-100, status="in-progress")).transplants == ()


def test_transplant_belongs_to_the_latest_line_started_before_it():
    resources = [myeloma(), medication_statement(BORTEZOMIB, -1000, -950),
                 medication_statement(CARFILZOMIB, -900, -820), asct(-800)]
    facts = facts_for(*resources)
    assert [line.includes_asct for line in facts.lines] == [False, True]


def test_drug_resumed_while_the_rest_of_the_line_continues_stays_in_the_line():
    resources = [myeloma(), medication_statement(DARATUMUMAB, -700, status="active"),
                 medication_statement(LENALIDOMIDE, -700, -400), medication_statement(LENALIDOMIDE, -300, status="active")]
    (line,) = facts_for(*resources).lines
    assert line.drugs == ("daratumumab", "lenalidomide")


def test_restart_long_after_the_line_ended_opens_a_new_line():
    resources = [myeloma(), *vrd(-1400, -1200), medication_statement(LENALIDOMIDE, -900, status="active")]
    assert len(facts_for(*resources).lines) == 2


def test_undated_transplant_and_undated_records_are_noted():
    undated = {"resourceType": "MedicationStatement", "id": "u1", "status": "completed",
               "medicationCodeableConcept": BORTEZOMIB}
    facts = facts_for(myeloma(), condition(icd="Z94.84"), undated)
    assert {"asct-undated", "lines-uncertain"} <= {n.code for n in facts.notes}
    assert "lines-uncertain" not in {n.code for n in facts_for(myeloma(), *vrd(-500, -300)).notes}


def test_r5_procedure_occurrence_date():
    procedure = asct(-400)
    procedure["occurrenceDateTime"] = procedure.pop("performedDateTime")
    (transplant,) = facts_for(myeloma(), procedure).transplants
    assert transplant.date == EVAL - timedelta(400)
