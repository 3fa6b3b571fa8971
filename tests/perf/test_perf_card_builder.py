"""Cards are free of empty values by construction (build_card no longer prunes the whole card)."""

from __future__ import annotations

from cds_cards.builder import Action, Link, OverrideReason, Suggestion, build_card, prune

RESOURCE = {
    "resourceType": "MedicationRequest",
    "status": "draft",
    "intent": "proposal",
    "subject": {"reference": "Patient/p1"},
    "note": [{"text": "  "}],
    "dosageInstruction": [{"text": "", "timing": {"repeat": {}}}],
    "medicationCodeableConcept": {"text": "lenalidomide", "coding": []},
}


def _assert_no_empty_values(value: object) -> None:
    if isinstance(value, dict):
        assert value, "empty object"
        for child in value.values():
            assert child is not None
            _assert_no_empty_values(child)
    elif isinstance(value, list):
        assert value, "empty list"
        for child in value:
            _assert_no_empty_values(child)
    elif isinstance(value, str):
        assert value.strip(), "blank string"


def test_blank_optional_parts_are_left_out() -> None:
    card = build_card(
        summary="Consider DRd",
        indicator="info",
        topic="treatment-recommendation",
        source_label="RRMM relapse guidance",
        detail="   ",
        source_url=" ",
        links=[Link(label="Launch", url="https://app.example/launch", type="smart", app_context="")],
    )
    _assert_no_empty_values(card)
    assert "detail" not in card and "url" not in card["source"]
    assert "appContext" not in card["links"][0]
    assert {"suggestions", "selectionBehavior", "overrideReasons"}.isdisjoint(card)


def test_full_card_equals_its_pruned_form() -> None:
    card = build_card(
        summary="Lenalidomide-refractory: consider DKd",
        indicator="warning",
        topic="treatment-recommendation",
        source_label="RRMM relapse guidance",
        detail="**Why**: progression on lenalidomide.",
        suggestions=[
            Suggestion(
                label="Order DKd", actions=[Action(type="create", description="Add", resource=RESOURCE)]
            ),
            Suggestion(
                label="Remove draft",
                actions=[Action(type="delete", description="Remove", resource_id="MedicationRequest/d1")],
                is_recommended=False,
            ),
        ],
        selection_behavior="any",
        override_reasons=[OverrideReason(code="clinician-judgement", display="Clinical judgement")],
    )
    _assert_no_empty_values(card)
    assert prune(card) == card
    resource = card["suggestions"][0]["actions"][0]["resource"]
    assert "note" not in resource and "dosageInstruction" not in resource
    assert resource["medicationCodeableConcept"] == {"text": "lenalidomide"}
    assert card["suggestions"][1]["isRecommended"] is False
    assert list(card) == [
        "uuid",
        "summary",
        "indicator",
        "source",
        "detail",
        "suggestions",
        "selectionBehavior",
        "overrideReasons",
    ]


def test_prune_keeps_false_zero_and_padded_strings() -> None:
    assert prune({"a": False, "b": 0, "c": " x ", "d": " ", "e": ("", None, "y")}) == {
        "a": False,
        "b": 0,
        "c": " x ",
        "e": ["y"],
    }
