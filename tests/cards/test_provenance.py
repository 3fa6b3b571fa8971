"""Machine-readable provenance: every card carries extension "org.rrmm-cds.provenance" with its
rule ids, the KB version and its seeds (no empty arrays), readable by the audit trail first."""

from __future__ import annotations

import pytest
from helpers import assert_valid_cds_response
from orders.builders import BTZ, DARA, DEX, IXA, LEN, draft, facts, refractory_to, renal
from rules.builders import FactsBuilder

from cds_cards.order_cards import render_findings
from cds_cards.patient_view import render
from cds_cards.provenance import PROVENANCE_KEY, provenance
from cds_service.observability.audit import card_provenance
from clinical_rules.kb import load_knowledge_base
from clinical_rules.order_checks import check_orders
from clinical_rules.relapse import decide
from fhir_mappings.draft_orders import read_draft_orders

KB = load_knowledge_base()
SEEDS = {"S0", "S1", "S2", "S3", "S4"}

PATIENTS = {
    "r6-salvage-workup-gaps": FactsBuilder().no_cytogenetics().no_recent_creatinine(),
    "r3-exclusions": FactsBuilder().prior_lines(2).refractory_to("lenalidomide", "daratumumab"),
    "r1-referral-aggressive": FactsBuilder().prior_lines(4).with_finding("plasma_cell_leukaemia").refractory_to(
        "lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab"),
    "possible-progression": FactsBuilder().possible_progression(),
}


def patient_view_cards(name: str) -> list[dict]:
    patient = PATIENTS[name].build()
    return render(decide(patient, KB), patient, KB)


def order_hook_cards() -> list[dict]:
    drafted = [draft("d-dara", DARA, 1800, period_unit="wk"), draft("d-len", LEN, 25),
               draft("d-btz", BTZ, 1.3, unit="mg/m2"), draft("d-ixa", IXA, 4, frequency=3, period=28), draft("d-dex", DEX, 40, period_unit="wk")]
    patient = facts(renal=renal(40.0), age=80, drug_histories=(refractory_to("lenalidomide"),),
                    lenalidomide_refractory=True, imid_refractory=True)
    orders = read_draft_orders({"resourceType": "Bundle", "entry": [{"resource": d} for d in drafted]})
    return render_findings(check_orders(orders, orders, patient, KB), "p1", KB.source_label)


def assert_provenance(card: dict) -> dict:
    body = card["extension"][PROVENANCE_KEY]
    assert body["kbVersion"] == KB.version
    assert body["ruleIds"] and all(isinstance(r, str) and r.strip() == r and r for r in body["ruleIds"])
    assert len(body["ruleIds"]) == len(set(body["ruleIds"]))
    assert set(body.get("seeds", ())) <= SEEDS and not set(body.get("sources", ())) & SEEDS
    assert body.get("seeds") or body.get("sources")
    for key in ("ruleIds", "seeds", "sources"):
        assert key not in body or body[key], f"empty {key}"
    # The audit trail reads the extension first and finds the same facts.
    assert card_provenance(card) == (body["ruleIds"], KB.version)
    return body


@pytest.mark.parametrize("name", sorted(PATIENTS))
def test_every_patient_view_card_carries_provenance(name: str) -> None:
    cards = patient_view_cards(name)
    assert cards
    assert_valid_cds_response({"cards": cards})
    for card in cards:
        body = assert_provenance(card)
        # The human trace line and the extension name the same rules.
        trace = card["detail"].rsplit("*Rule ", 1)[-1]
        assert trace.startswith(body["ruleIds"][0])


def test_treatment_card_names_its_row_and_the_hard_rules_that_removed_regimens() -> None:
    cards = {c["source"]["topic"]["code"]: c for c in patient_view_cards("r3-exclusions")}
    body = cards["treatment-recommendation"]["extension"][PROVENANCE_KEY]
    assert body["ruleIds"][0] == "R3" and "H1" in body["ruleIds"]
    assert {"S0", "S4"} <= set(body["seeds"])


def test_every_order_hook_card_carries_provenance() -> None:
    cards = order_hook_cards()
    assert {"O1", "O4", "O7", "SC-TYPE-SCREEN"} <= {r for c in cards for r in c["extension"][PROVENANCE_KEY]["ruleIds"]}
    assert_valid_cds_response({"cards": cards})
    for card in cards:
        assert_provenance(card)


def test_provenance_leaves_out_what_it_does_not_know() -> None:
    assert provenance([], "2026.1", []) == {PROVENANCE_KEY: {"kbVersion": "2026.1"}}
    assert provenance(["R3", "R3", " "], "2026.1", ["S4", "label", "S0", "S4"]) == {
        PROVENANCE_KEY: {"kbVersion": "2026.1", "ruleIds": ["R3"], "seeds": ["S0", "S4"], "sources": ["label"]}
    }
