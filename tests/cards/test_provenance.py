"""One provenance model behind every card: the detail's last line, the extension
"org.rrmm-cds.provenance" (rule ids as a list, KB version, seeds and other sources, no empty
arrays) and the audit trail, which reads the extension."""

from __future__ import annotations

import pytest
from helpers import assert_valid_cds_response
from orders.builders import BTZ, DARA, DEX, IXA, LEN, draft, facts, refractory_to, renal
from rules.builders import FactsBuilder

from cds_cards.order_cards import render_findings
from cds_cards.patient_view import render
from cds_cards.provenance import PROVENANCE_KEY, extension, provenance_line
from cds_service.observability.audit import card_provenance
from clinical_rules.decisions import Provenance
from clinical_rules.kb import load_knowledge_base
from clinical_rules.order_checks import check_orders
from fhir_mappings.draft_orders import read_draft_orders

KB = load_knowledge_base()
SEEDS = {name for name, source in KB.sources.items() if source.kind == "seed"}

PATIENTS = {
    "r6-salvage-workup-gaps": FactsBuilder().no_cytogenetics().no_recent_creatinine(),
    "r3-exclusions": FactsBuilder().prior_lines(2).refractory_to("lenalidomide", "daratumumab"),
    "r1-referral-aggressive": FactsBuilder().prior_lines(4).with_finding("plasma_cell_leukaemia").refractory_to(
        "lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab"),
    "possible-progression": FactsBuilder().possible_progression(),
}


def order_hook_cards() -> list[dict]:
    drafted = [draft("d-dara", DARA, 1800, period_unit="wk"), draft("d-len", LEN, 25),
               draft("d-btz", BTZ, 1.3, unit="mg/m2"), draft("d-ixa", IXA, 4, frequency=3, period=28),
               draft("d-dex", DEX, 40, period_unit="wk")]
    patient = facts(renal=renal(40.0), age=80, drug_histories=(refractory_to("lenalidomide"),),
                    lenalidomide_refractory=True, imid_refractory=True)
    orders = read_draft_orders({"resourceType": "Bundle", "entry": [{"resource": d} for d in drafted]})
    return render_findings(check_orders(orders, orders, patient, KB), "p1", KB)


def assert_provenance(card: dict) -> dict:
    body = card["extension"][PROVENANCE_KEY]
    assert body["kbVersion"] == KB.version
    assert body["ruleIds"] and all(isinstance(r, str) and r.strip() == r and r for r in body["ruleIds"])
    assert len(body["ruleIds"]) == len(set(body["ruleIds"]))
    assert set(body.get("seeds", ())) <= SEEDS and not set(body.get("sources", ())) & SEEDS
    assert body.get("seeds") or body.get("sources")
    for key in ("ruleIds", "seeds", "sources"):
        assert key not in body or body[key], f"empty {key}"
    assert card_provenance(card) == (body["ruleIds"], KB.version)
    # The human line closing the detail is written from the same object.
    assert card["detail"].rstrip().endswith(provenance_line(
        Provenance(tuple(body["ruleIds"]), KB.version, (*body.get("seeds", ()), *body.get("sources", ()))), KB))
    return body


@pytest.mark.parametrize("name", sorted(PATIENTS))
def test_every_patient_view_card_carries_provenance(name: str) -> None:
    cards = render(PATIENTS[name].build(), KB)
    assert cards
    assert_valid_cds_response({"cards": cards})
    for card in cards:
        assert_provenance(card)


def test_every_order_hook_card_carries_provenance() -> None:
    cards = order_hook_cards()
    assert {"O1", "O4", "O7", "SC-TYPE-SCREEN"} <= {r for c in cards for r in c["extension"][PROVENANCE_KEY]["ruleIds"]}
    assert_valid_cds_response({"cards": cards})
    for card in cards:
        assert_provenance(card)


def test_no_rule_id_is_a_spec_section_or_a_source_id() -> None:
    cards = order_hook_cards() + [c for p in PATIENTS.values() for c in render(p.build(), KB)]
    for card in cards:
        for rule_id in card["extension"][PROVENANCE_KEY]["ruleIds"]:
            assert "§" not in rule_id and rule_id not in KB.sources, rule_id


def test_provenance_leaves_out_what_it_does_not_know() -> None:
    assert extension(Provenance((), "2026.1"), KB) == {PROVENANCE_KEY: {"kbVersion": "2026.1"}}
    mixed = Provenance.of(["R3", "R3", ""], "2026.1", ["S4", "label", "S0", "S4"])
    assert extension(mixed, KB) == {
        PROVENANCE_KEY: {"kbVersion": "2026.1", "ruleIds": ["R3"], "seeds": ["S0", "S4"], "sources": ["label"]}
    }
