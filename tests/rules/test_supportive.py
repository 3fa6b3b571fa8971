"""Supportive care (03 §4) for any set of drugs."""

from __future__ import annotations

from clinical_rules.supportive import supportive_measures

from .builders import FactsBuilder


def drugs_of(measures) -> set[str]:
    return {m.drug for m in measures if m.drug}


def groups_of(measures) -> set[str]:
    return {m.group for m in measures}


def test_imid_gets_aspirin(kb):
    measures = supportive_measures(["lenalidomide", "dexamethasone"], FactsBuilder().build(), kb)
    assert drugs_of(measures) == {"aspirin"}
    aspirin = measures[0]
    assert aspirin.rule_id == "SC-VTE" and aspirin.trigger_drugs == ("lenalidomide",) and aspirin.seeds


def test_prior_vte_gets_enoxaparin_or_apixaban_instead_of_aspirin(kb):
    measures = supportive_measures(["pomalidomide"], FactsBuilder().with_finding("vte_history").build(), kb)
    assert drugs_of(measures) == {"enoxaparin", "apixaban"}
    doses = {m.drug: (m.dose.value, m.dose.frequency) for m in measures}
    assert doses == {"enoxaparin": (40, 1), "apixaban": (2.5, 2)}


def test_anticoagulated_patient_gets_no_vte_prophylaxis(kb):
    facts = FactsBuilder().currently_taking("apixaban").with_finding("vte_history").build()
    assert "vte-prophylaxis" not in groups_of(supportive_measures(["lenalidomide"], facts, kb))


def test_aspirin_already_taken_is_not_suggested_again(kb):
    facts = FactsBuilder().currently_taking("aspirin").build()
    assert supportive_measures(["lenalidomide"], facts, kb) == ()


def test_pi_and_anti_cd38_get_zoster_prophylaxis_unless_on_an_antiviral(kb):
    facts = FactsBuilder().exposed_to("daratumumab").build()
    assert drugs_of(supportive_measures(["bortezomib"], facts, kb)) == {"acyclovir", "valacyclovir"}
    assert drugs_of(supportive_measures(["daratumumab"], facts, kb)) == {"acyclovir", "valacyclovir"}
    on_famciclovir = FactsBuilder().exposed_to("daratumumab").currently_taking("famciclovir").build()
    assert supportive_measures(["bortezomib", "daratumumab"], on_famciclovir, kb) == ()


def test_selinexor_gets_ondansetron(kb):
    measures = supportive_measures(["selinexor", "dexamethasone"], FactsBuilder().build(), kb)
    assert drugs_of(measures) == {"ondansetron"}
    assert measures[0].dose.value == 8


def test_dcep_gets_pjp_prophylaxis(kb):
    measures = supportive_measures(["dexamethasone", "cyclophosphamide", "etoposide", "cisplatin"], FactsBuilder().build(), kb)
    assert drugs_of(measures) == {"sulfamethoxazole-trimethoprim"}
    assert supportive_measures(["cyclophosphamide", "pomalidomide"], FactsBuilder().currently_taking("aspirin").build(), kb) == ()


def test_bispecific_gets_zoster_pjp_and_ivig_when_igg_low(kb):
    low = supportive_measures(["teclistamab"], FactsBuilder().igg(350).build(), kb)
    assert groups_of(low) == {"zoster-prophylaxis", "pjp-prophylaxis", "immunoglobulin"}
    normal = supportive_measures(["teclistamab"], FactsBuilder().igg(650).build(), kb)
    assert "immunoglobulin" not in groups_of(normal)


def test_carfilzomib_baseline_echo_and_ecg_unless_recent_lvef(kb):
    measures = supportive_measures(["carfilzomib"], FactsBuilder().exposed_to("daratumumab").build(), kb)
    services = {m.service.code for m in measures if m.kind == "service"}
    assert services == {"40701008", "29303009"}
    recent = FactsBuilder().exposed_to("daratumumab").lvef(60, days_ago=100).build()
    assert "cardiac-baseline" not in groups_of(supportive_measures(["carfilzomib"], recent, kb))
    old = FactsBuilder().exposed_to("daratumumab").lvef(60, days_ago=200).build()
    assert "cardiac-baseline" in groups_of(supportive_measures(["carfilzomib"], old, kb))


def test_type_and_screen_only_before_the_first_anti_cd38(kb):
    naive = supportive_measures(["daratumumab"], FactsBuilder().build(), kb)
    assert "type-and-screen" in groups_of(naive)
    exposed = supportive_measures(["daratumumab"], FactsBuilder().exposed_to("isatuximab").build(), kb)
    assert "type-and-screen" not in groups_of(exposed)


def test_drugs_drafted_beside_count_as_taken(kb):
    facts = FactsBuilder().exposed_to("daratumumab").build()
    assert supportive_measures(["lenalidomide", "bortezomib"], facts, kb, already_planned=["aspirin", "valacyclovir"]) == ()
    assert supportive_measures(["lenalidomide"], facts, kb, already_planned=["enoxaparin"]) == ()
