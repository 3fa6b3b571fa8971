"""03 §4 / §6 order-check review: a prophylaxis drafted beside counts whatever member of its class it is — the
knowledge base names only the drugs it suggests, the terminology knows the rest (rivaroxaban,
famciclovir, granisetron, atovaquone ...)."""

from __future__ import annotations

import pytest

from clinical_rules.kb import load_knowledge_base
from clinical_rules.order_checks import check_orders
from fhir_mappings.draft_orders import read_draft_orders

from .builders import DARA, DEX, LEN, draft, facts, taking

KB = load_knowledge_base()


def check_ids(drafted: list[dict], **patient: object) -> set[str]:
    orders = read_draft_orders({"resourceType": "Bundle", "entry": [{"resource": d} for d in drafted]})
    return {f.check_id for f in check_orders(orders, orders, facts(**patient), KB)}


DRD = [draft("d-dara", DARA, 1800, period_unit="wk"), draft("d-len", LEN, 25), draft("d-dex", DEX, 40, period_unit="wk")]
XD = [draft("d-sel", "selinexor", 80, frequency=2, period_unit="wk"), draft("d-dex", DEX, 20, frequency=2, period_unit="wk")]


@pytest.mark.parametrize(
    ("drafted", "beside", "check"),
    [
        (DRD, draft("d-riva", "rivaroxaban", 10), "O3"),
        (DRD, draft("d-dalt", "dalteparin", 5000, unit="[iU]"), "O3"),
        (DRD, draft("d-famc", "famciclovir", 250, frequency=2), "O4"),
        (XD, draft("d-gran", "granisetron", 1), "O5"),
    ],
)
def test_a_drafted_equivalent_covers_the_need(drafted: list[dict], beside: dict, check: str) -> None:
    assert check in check_ids(drafted)
    assert check not in check_ids([*drafted, beside])


def test_a_current_equivalent_covers_the_need() -> None:
    assert "O5" in check_ids(XD)
    assert "O5" not in check_ids(XD, **taking("granisetron"))


def test_o1_names_the_hard_rule_that_fired() -> None:
    from .builders import refractory_to

    def o1_rule(drafted: dict, **patient: object) -> str:
        orders = read_draft_orders({"resourceType": "Bundle", "entry": [{"resource": drafted}]})
        (o1,) = [f for f in check_orders(orders, orders, facts(**patient), KB) if f.check_id == "O1"]
        return o1.rule_id

    assert o1_rule(draft("d-len", LEN, 25), drug_histories=(refractory_to("lenalidomide"),),
                   lenalidomide_refractory=True, imid_refractory=True) == "O1, H2"
    assert o1_rule(draft("d-dara", DARA, 1800, period_unit="wk"), drug_histories=(refractory_to("daratumumab"),),
                   anti_cd38_exposed=True, anti_cd38_refractory=True) == "O1, H1"


def test_o10_xd_or_vend_is_no_intensity_finding_for_triple_class_refractory_patients() -> None:
    """H4: in R1/R2 (triple-class / penta-refractory) Xd and VenD are allowed for anyone."""
    from .builders import t11_14

    tcr = {"triple_class_refractory": True, "imid_refractory": True, "pi_refractory": True,
           "anti_cd38_exposed": True, "anti_cd38_refractory": True}
    xd = [*XD, draft("d-ond", "ondansetron", 8, period_unit="wk")]
    assert "O10" in check_ids(xd)
    assert "O10" not in check_ids(xd, **tcr)
    vend = [draft("d-ven", "venetoclax", 800), draft("d-dex", DEX, 40, period_unit="wk")]
    assert "O10" not in check_ids(vend, **tcr, cytogenetics=(t11_14(True),), t11_14_positive=True)
    assert "O10" in check_ids(vend, cytogenetics=(t11_14(True),), t11_14_positive=True)
