"""Assertions any test may use on service responses (import as ``from helpers import ...``)."""

from __future__ import annotations

from typing import Any

from cds_service import schemas

OPERATION_OUTCOME_SEVERITIES = {"fatal", "error", "warning", "information"}


def assert_valid_cds_response(doc: Any) -> None:
    """The CDS Hooks 2.0 response rules of spec 01 §6 / 04 §1 (our response JSON Schema), plus
    unique card uuids. Fails with every problem found."""
    problems = schemas.problems("response", doc)
    assert not problems, f"invalid CDS Hooks response: {problems}"
    uuids = [card["uuid"] for card in doc["cards"]]
    assert len(uuids) == len(set(uuids)), "card uuids are not unique"
    for card in doc["cards"]:
        suggestion_uuids = [s["uuid"] for s in card.get("suggestions", [])]
        assert len(suggestion_uuids) == len(set(suggestion_uuids)), "suggestion uuids are not unique"
        if card.get("selectionBehavior") == "at-most-one":
            recommended = [s for s in card["suggestions"] if s.get("isRecommended")]
            assert len(recommended) <= 1, "at-most-one card with several recommended suggestions"


def assert_operation_outcome(doc: Any, *, mentions: str | None = None) -> None:
    """A FHIR OperationOutcome with at least one issue (severity, code, diagnostics)."""
    assert isinstance(doc, dict) and doc.get("resourceType") == "OperationOutcome", doc
    issues = doc.get("issue")
    assert isinstance(issues, list) and issues, doc
    for issue in issues:
        assert issue.get("severity") in OPERATION_OUTCOME_SEVERITIES, issue
        assert isinstance(issue.get("code"), str) and issue["code"], issue
        assert isinstance(issue.get("diagnostics"), str) and issue["diagnostics"].strip(), issue
    if mentions is not None:
        text = " ".join(issue["diagnostics"] for issue in issues).lower()
        assert mentions.lower() in text, f"OperationOutcome does not mention {mentions!r}: {text}"
