"""The wire schemas: compiled once, and error messages that say where without quoting values."""

from __future__ import annotations

import pytest

from cds_service import schemas


def test_every_schema_compiles_and_is_cached():
    schemas.load_all()
    for name in schemas.SCHEMA_NAMES:
        assert schemas.validator(name) is schemas.validator(name)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"hookInstance": "x", "context": {}}, "hook is required"),
        ({"hook": 1, "hookInstance": "x", "context": {}}, "hook must be of type string"),
        (
            {"hook": "patient-view", "hookInstance": "x", "context": {}, "prefetch": {"k": 3}},
            "prefetch.k must be",
        ),
        (
            {"hook": "patient-view", "hookInstance": "x", "context": {}, "fhirServer": "ftp://x"},
            "fhirServer has an invalid format",
        ),
    ],
)
def test_request_problems_name_the_field(document, expected):
    problems = schemas.problems("request", document)
    assert any(expected in problem for problem in problems), problems


def test_context_problems_are_prefixed_and_never_quote_values():
    secret_like = "Smith-" + "9" * 300
    problems = schemas.problems(
        "context-patient-view", {"userId": "Practitioner/1", "patientId": secret_like}, prefix="context"
    )
    assert problems == ["context.patientId has an invalid format"]
    assert all(secret_like not in problem for problem in problems)


def test_problem_count_is_bounded():
    document = {"feedback": [{"card": "x"} for _ in range(50)]}
    assert len(schemas.problems("feedback", document)) == schemas.MAX_REPORTED_ERRORS


def test_feedback_accepted_requires_suggestions():
    item = {
        "card": "6f1c1c6e-4b7a-4a8e-9a39-0d3f0a1b2c3d",
        "outcome": "accepted",
        "outcomeTimestamp": "2026-01-01T00:00:00Z",
    }
    assert schemas.problems("feedback", {"feedback": [item]}) == [
        "feedback[0].acceptedSuggestions is required"
    ]
    item["acceptedSuggestions"] = [{"id": "s1"}]
    assert schemas.problems("feedback", {"feedback": [item]}) == []


def test_response_schema_rejects_empty_values_and_bad_actions():
    card = {
        "uuid": "6f1c1c6e-4b7a-4a8e-9a39-0d3f0a1b2c3d",
        "summary": "s",
        "indicator": "info",
        "source": {"label": "l"},
    }
    assert schemas.problems("response", {"cards": [card]}) == []
    assert schemas.problems("response", {"cards": [dict(card, detail="")]})
    assert schemas.problems("response", {"cards": [dict(card, summary="x" * 140)]})
    with_suggestion = dict(
        card,
        selectionBehavior="any",
        suggestions=[
            {
                "label": "x",
                "uuid": "7f1c1c6e-4b7a-4a8e-9a39-0d3f0a1b2c3d",
                "actions": [{"type": "delete", "description": "d", "resource": {"resourceType": "X"}}],
            }
        ],
    )
    assert schemas.problems("response", {"cards": [with_suggestion]})
    nested_empty = dict(
        card,
        selectionBehavior="any",
        suggestions=[
            {
                "label": "x",
                "uuid": "7f1c1c6e-4b7a-4a8e-9a39-0d3f0a1b2c3d",
                "actions": [
                    {"type": "create", "description": "c", "resource": {"resourceType": "X", "note": []}}
                ],
            }
        ],
    )
    assert schemas.problems("response", {"cards": [nested_empty]})
    assert schemas.problems("response", {"cards": [dict(card, suggestions=with_suggestion["suggestions"])]})


@pytest.mark.parametrize("encounter_id", ["enc-1", "Encounter/enc-1", None])
def test_encounter_id_is_read_leniently(encounter_id):
    context = {"userId": "Practitioner/1", "patientId": "p1", "encounterId": encounter_id}
    assert schemas.problems("context-patient-view", context) == []


def test_fhir_authorization_needs_a_token_of_the_right_type():
    base = {"hook": "patient-view", "hookInstance": "x", "context": {}, "fhirServer": "http://127.0.0.1/fhir"}
    assert schemas.problems("request", dict(base, fhirAuthorization={"access_token": "t"})) == []
    assert schemas.problems("request", dict(base, fhirAuthorization={"token_type": "Bearer"})) == [
        "fhirAuthorization.access_token is required"
    ]
    assert schemas.problems(
        "request", dict(base, fhirAuthorization={"access_token": "t", "token_type": "MAC"})
    )
    assert schemas.problems(
        "request", dict(base, fhirAuthorization={"access_token": "t", "expires_in": "soon"})
    )
