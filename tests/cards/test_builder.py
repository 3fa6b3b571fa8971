"""Unit tests for the card builder: spec 01 §6 and 04 §1 hold by construction."""

from __future__ import annotations

import uuid

import pytest

from cds_cards.builder import (
    OVERRIDE_REASON_SYSTEM,
    TOPIC_SYSTEM,
    TOPICS,
    Action,
    Link,
    OverrideReason,
    Suggestion,
    build_card,
    prune,
    trim_summary,
)

DRAFT = {
    "resourceType": "MedicationRequest",
    "id": "draft-1",
    "status": "draft",
    "intent": "proposal",
    "subject": {"reference": "Patient/p1"},
    "medicationCodeableConcept": {"text": "lenalidomide"},
}
REASON = OverrideReason(code="clinician-judgement", display="Clinical judgement")


def _info_card(**overrides):
    kwargs = {
        "summary": "Consider DRd",
        "indicator": "info",
        "topic": "treatment-recommendation",
        "topic_display": "Treatment recommendation",
        "source_label": "RRMM relapse guidance · KB 2026.1",
    }
    kwargs.update(overrides)
    return build_card(**kwargs)


def test_topics_are_the_ten_of_the_spec():
    assert set(TOPICS) == {
        "treatment-recommendation",
        "supportive-care",
        "salvage-transplant",
        "referral",
        "aggressive-disease",
        "relapse-workup",
        "data-gap",
        "contraindication",
        "dose-adjustment",
        "regimen-intensity",
    }


def test_the_knowledge_base_names_every_topic():
    from clinical_rules.kb import load_knowledge_base

    topics = load_knowledge_base().cards.topics
    assert set(topics) == set(TOPICS) and all(display.strip() for display in topics.values())


def test_minimal_card_shape():
    card = _info_card()
    assert uuid.UUID(card["uuid"]).version == 4
    assert card["summary"] == "Consider DRd"
    assert card["indicator"] == "info"
    assert card["source"]["label"] == "RRMM relapse guidance · KB 2026.1"
    assert card["source"]["topic"] == {
        "system": TOPIC_SYSTEM,
        "code": "treatment-recommendation",
        "display": "Treatment recommendation",
    }
    for absent in ("detail", "suggestions", "selectionBehavior", "links", "overrideReasons"):
        assert absent not in card


def test_each_card_gets_a_fresh_uuid():
    assert _info_card()["uuid"] != _info_card()["uuid"]


def test_unknown_topic_rejected():
    with pytest.raises(ValueError, match="topic"):
        _info_card(topic="treatment")


def test_unknown_indicator_rejected():
    with pytest.raises(ValueError, match="indicator"):
        _info_card(indicator="hard-stop")


@pytest.mark.parametrize("indicator", ["warning", "critical"])
def test_warning_and_critical_need_override_reasons(indicator):
    with pytest.raises(ValueError, match="override"):
        _info_card(indicator=indicator)
    card = _info_card(indicator=indicator, override_reasons=[REASON])
    assert card["overrideReasons"] == [
        {"code": "clinician-judgement", "system": OVERRIDE_REASON_SYSTEM, "display": "Clinical judgement"}
    ]


def test_blank_summary_and_source_label_rejected():
    with pytest.raises(ValueError):
        _info_card(summary="   ")
    with pytest.raises(ValueError):
        _info_card(source_label="")


def test_long_summary_trimmed_at_word_boundary():
    text = "Daratumumab lenalidomide dexamethasone " * 10
    card = _info_card(summary=text)
    assert len(card["summary"]) <= 139
    assert card["summary"].endswith("…")
    head = card["summary"][:-1]
    assert text.startswith(head)
    # The cut falls on a word boundary: the next character in the original is a space.
    assert text[len(head)] == " "


def test_summary_exactly_at_limit_kept_whole():
    text = "x" * 139
    assert trim_summary(text) == text


def test_summary_single_huge_word_hard_cut():
    trimmed = trim_summary("y" * 500)
    assert len(trimmed) == 139
    assert trimmed.endswith("…")


def test_selection_behavior_defaults_with_suggestions():
    card = _info_card(suggestions=[Suggestion(label="DRd")])
    assert card["selectionBehavior"] == "at-most-one"


def test_selection_behavior_any_kept():
    card = _info_card(suggestions=[Suggestion(label="a"), Suggestion(label="b")], selection_behavior="any")
    assert card["selectionBehavior"] == "any"


def test_selection_behavior_without_suggestions_rejected():
    with pytest.raises(ValueError, match="selectionBehavior"):
        _info_card(selection_behavior="any")


def test_invalid_selection_behavior_rejected():
    with pytest.raises(ValueError):
        _info_card(suggestions=[Suggestion(label="a")], selection_behavior="all")


def test_suggestions_serialised_with_fresh_uuids_and_actions():
    create = Action(type="create", description="Order lenalidomide", resource=DRAFT)
    suggestion = Suggestion(label="DRd", actions=(create,), is_recommended=True)
    alternative = Suggestion(label="KRd", is_recommended=False)
    card = _info_card(suggestions=[suggestion, alternative])
    first, second = card["suggestions"]
    assert first["label"] == "DRd"
    assert first["isRecommended"] is True
    assert second["isRecommended"] is False  # False is a value, not "empty"
    assert uuid.UUID(first["uuid"]) != uuid.UUID(second["uuid"])
    assert first["actions"] == [{"type": "create", "description": "Order lenalidomide", "resource": DRAFT}]
    assert "actions" not in second
    again = _info_card(suggestions=[suggestion])
    assert again["suggestions"][0]["uuid"] != first["uuid"]


def test_suggestion_accepts_list_of_actions_and_stays_hashable():
    suggestion = Suggestion(
        label="x", actions=[Action(type="delete", description="d", resource_id="MedicationRequest/1")]
    )
    assert isinstance(suggestion.actions, tuple)
    hash(suggestion)


def test_suggestion_rejects_non_action():
    with pytest.raises(TypeError):
        Suggestion(label="x", actions=({"type": "create"},))


def test_action_create_requires_resource():
    with pytest.raises(ValueError):
        Action(type="create", description="x")
    with pytest.raises(ValueError):
        Action(type="create", description="x", resource={"id": "no-type"})
    with pytest.raises(ValueError):
        Action(type="create", description="x", resource=DRAFT, resource_id="MedicationRequest/1")


def test_action_update_requires_resource_with_id():
    without_id = {k: v for k, v in DRAFT.items() if k != "id"}
    with pytest.raises(ValueError, match="id"):
        Action(type="update", description="x", resource=without_id)
    action = Action(type="update", description="Reduce dose", resource=DRAFT)
    assert action.to_dict()["resource"]["id"] == "draft-1"


def test_action_delete_requires_resource_id_only():
    with pytest.raises(ValueError):
        Action(type="delete", description="x")
    with pytest.raises(ValueError):
        Action(type="delete", description="x", resource_id="draft-1")
    with pytest.raises(ValueError):
        Action(type="delete", description="x", resource=DRAFT, resource_id="MedicationRequest/draft-1")
    action = Action(type="delete", description="Remove", resource_id="MedicationRequest/draft-1")
    assert action.to_dict() == {
        "type": "delete",
        "description": "Remove",
        "resourceId": "MedicationRequest/draft-1",
    }


def test_action_rejects_unknown_type_and_blank_description():
    with pytest.raises(ValueError):
        Action(type="merge", description="x", resource=DRAFT)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Action(type="create", description=" ", resource=DRAFT)


def test_suggested_resources_are_pruned():
    resource = dict(DRAFT, note=[], dosageInstruction=[{"text": "10 mg", "timing": {}, "route": None}])
    card = _info_card(
        suggestions=[Suggestion(label="x", actions=(Action("create", "c", resource=resource),))]
    )
    emitted = card["suggestions"][0]["actions"][0]["resource"]
    assert "note" not in emitted
    assert emitted["dosageInstruction"] == [{"text": "10 mg"}]


def test_links():
    card = _info_card(links=[Link(label="IMWG", url="https://example.org/imwg")])
    assert card["links"] == [{"label": "IMWG", "url": "https://example.org/imwg", "type": "absolute"}]
    smart = Link(label="App", url="https://app.example/launch", type="smart", app_context="ctx")
    assert smart.to_dict()["appContext"] == "ctx"
    with pytest.raises(ValueError, match="appContext"):
        Link(label="x", url="https://e.org", app_context="ctx")
    with pytest.raises(ValueError):
        Link(label="x", url="https://e.org", type="relative")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Link(label="", url="https://e.org")


def test_override_reason_requires_code_and_display():
    with pytest.raises(ValueError):
        OverrideReason(code="", display="x")
    with pytest.raises(ValueError):
        OverrideReason(code="x", display=" ")


def test_detail_and_source_url():
    card = _info_card(detail="**why**", source_url="https://example.org/kb")
    assert card["detail"] == "**why**"
    assert card["source"]["url"] == "https://example.org/kb"
    assert "detail" not in _info_card(detail="")


def test_prune_recursive():
    assert prune({"a": None, "b": "", "c": [], "d": {}, "e": {"f": [None, {}, ""]}, "g": 0, "h": False}) == {
        "g": 0,
        "h": False,
    }
    assert prune([{"x": "  "}, {"y": "v"}]) == [{"y": "v"}]
    assert prune({"keep": " padded "}) == {"keep": " padded "}
