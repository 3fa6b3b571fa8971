"""Spec-valid CDS Hooks 2.0 cards by construction.

Every card the service emits goes through :func:`build_card`, so the response rules of
spec 01 §6 and the card conventions of spec 04 §1 hold everywhere: a fresh uuid per card and
suggestion, a summary of at most 139 characters, a topic from the project code system,
``selectionBehavior`` exactly when there are suggestions, override reasons on warning/critical
cards, and no null or empty values anywhere (see :func:`prune`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

TOPIC_SYSTEM = "https://fhir.rrmm-cds.org/CodeSystem/card-topic"
OVERRIDE_REASON_SYSTEM = "https://fhir.rrmm-cds.org/CodeSystem/override-reason"

# The card topics of the card contract (04 §1); their displays are knowledge-base texts.
TOPICS = frozenset({
    "treatment-recommendation", "supportive-care", "salvage-transplant", "referral", "aggressive-disease",
    "relapse-workup", "data-gap", "contraindication", "dose-adjustment", "regimen-intensity",
})

INDICATORS = frozenset({"info", "warning", "critical"})
SELECTION_BEHAVIORS = frozenset({"at-most-one", "any"})
MAX_SUMMARY_CHARS = 139
_ELLIPSIS = "…"


def prune(value: Any) -> Any:
    """Return a copy of ``value`` without None, empty strings, lists or dicts, recursively.

    Emptiness is judged after pruning children, so ``{"a": {"b": None}}`` disappears entirely.
    ``False`` and ``0`` are real values and are kept. A whitespace-only string counts as empty.
    """
    if isinstance(value, dict):
        return _prune_dict(value)
    if isinstance(value, list | tuple):
        return _prune_items(value)
    if isinstance(value, str):
        return "" if _is_blank(value) else value
    return value


def _prune_dict(value: dict) -> dict:
    pruned = {}
    for key, child in value.items():
        # Leaves are decided here, without a call per leaf: most nodes of a resource are leaves.
        kind = child.__class__
        if kind is str:
            if child and (not child[0].isspace() or child.strip()):
                pruned[key] = child
        elif kind is dict:
            pruned_child = _prune_dict(child)
            if pruned_child:
                pruned[key] = pruned_child
        elif kind is list or kind is tuple:
            pruned_child = _prune_items(child)
            if pruned_child:
                pruned[key] = pruned_child
        elif child is not None:
            pruned_child = prune(child)  # subclasses of str / dict / list, and scalars
            if not _is_empty(pruned_child):
                pruned[key] = pruned_child
    return pruned


def _prune_items(value: list | tuple) -> list:
    pruned = []
    for item in value:
        kept = prune(item)
        if not _is_empty(kept):
            pruned.append(kept)
    return pruned


def _is_blank(text: str) -> bool:
    # Most strings start with a visible character: only the others need the strip() copy.
    return not text or (text[0].isspace() and not text.strip())


def _is_empty(value: Any) -> bool:
    """Whether an already-pruned value is empty (pruned strings are either "" or not blank)."""
    return value is None or (not value and isinstance(value, str | list | dict))


def trim_summary(text: str, limit: int = MAX_SUMMARY_CHARS) -> str:
    """Collapse whitespace and cut to ``limit`` characters at a word boundary with an ellipsis."""
    collapsed = " ".join(text.split())
    if len(collapsed) <= limit:
        return collapsed
    room = limit - len(_ELLIPSIS)
    cut = collapsed[: room + 1]
    boundary = cut.rfind(" ")
    # A single enormous word has no boundary: cut it hard rather than return nothing.
    head = cut[:boundary] if boundary > 0 else collapsed[:room]
    return head.rstrip(" ,;:.-—·") + _ELLIPSIS


@dataclass(frozen=True)
class Action:
    """One suggestion action: create/update carry a resource, delete carries a resourceId."""

    type: Literal["create", "update", "delete"]
    description: str
    resource: dict | None = None
    resource_id: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ("create", "update", "delete"):
            raise ValueError(f"action type must be create, update or delete, not {self.type!r}")
        if not self.description or not self.description.strip():
            raise ValueError("action description is required")
        if self.type in ("create", "update"):
            if not isinstance(self.resource, dict) or not self.resource.get("resourceType"):
                raise ValueError(f"{self.type} action needs a FHIR resource with a resourceType")
            if self.resource_id is not None:
                raise ValueError(f"{self.type} action takes a resource, not a resource_id")
        if self.type == "update" and not self.resource.get("id"):
            raise ValueError("update action needs the whole resource including its id")
        if self.type == "delete":
            if self.resource is not None:
                raise ValueError("delete action takes a resource_id, not a resource")
            if not self.resource_id or "/" not in self.resource_id:
                raise ValueError("delete action needs resource_id as 'Type/id'")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.resource is not None:
            resource = prune(self.resource)
            if resource:
                out["resource"] = resource
        if self.resource_id is not None:
            out["resourceId"] = self.resource_id
        return out


@dataclass(frozen=True)
class Suggestion:
    """A suggestion; a fresh uuid is assigned each time the card is built."""

    label: str
    actions: tuple[Action, ...] = ()
    is_recommended: bool | None = None

    def __post_init__(self) -> None:
        if not self.label or not self.label.strip():
            raise ValueError("suggestion label is required")
        # Accept any sequence from callers but keep the dataclass hashable/immutable.
        object.__setattr__(self, "actions", tuple(self.actions))
        for action in self.actions:
            if not isinstance(action, Action):
                raise TypeError("suggestion actions must be Action instances")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "uuid": str(uuid.uuid4())}
        if self.is_recommended is not None:
            out["isRecommended"] = self.is_recommended
        if self.actions:
            out["actions"] = [action.to_dict() for action in self.actions]
        return out


@dataclass(frozen=True)
class Link:
    """A card link; ``app_context`` is only meaningful (and only allowed) for SMART links."""

    label: str
    url: str
    type: Literal["absolute", "smart"] = "absolute"
    app_context: str | None = None

    def __post_init__(self) -> None:
        if not self.label or not self.label.strip():
            raise ValueError("link label is required")
        if not self.url or not self.url.strip():
            raise ValueError("link url is required")
        if self.type not in ("absolute", "smart"):
            raise ValueError(f"link type must be absolute or smart, not {self.type!r}")
        if self.app_context is not None and self.type != "smart":
            raise ValueError("appContext is only allowed on smart links")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "url": self.url, "type": self.type}
        if self.app_context is not None and self.app_context.strip():
            out["appContext"] = self.app_context
        return out


@dataclass(frozen=True)
class OverrideReason:
    """A reason the clinician may pick when overriding a card (coded in our code system)."""

    code: str
    display: str

    def __post_init__(self) -> None:
        if not self.code or not self.code.strip():
            raise ValueError("override reason code is required")
        if not self.display or not self.display.strip():
            raise ValueError("override reason display is required")

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "system": OVERRIDE_REASON_SYSTEM, "display": self.display}


def build_card(
    *,
    summary: str,
    indicator: str,
    topic: str,
    source_label: str,
    detail: str | None = None,
    suggestions: Sequence[Suggestion] = (),
    selection_behavior: str | None = None,
    links: Sequence[Link] = (),
    override_reasons: Sequence[OverrideReason] = (),
    source_url: str | None = None,
    topic_display: str | None = None,
) -> dict[str, Any]:
    """Build one CDS Hooks 2.0 card as a JSON-ready dict.

    Raises ValueError for anything that would make the card invalid under spec 01 §6 / 04 §1.
    """
    if indicator not in INDICATORS:
        raise ValueError(f"indicator must be one of {sorted(INDICATORS)}, not {indicator!r}")
    if topic not in TOPICS:
        raise ValueError(f"unknown card topic {topic!r}; expected one of {sorted(TOPICS)}")
    if not summary or not summary.strip():
        raise ValueError("card summary is required")
    if not source_label or not source_label.strip():
        raise ValueError("card source label is required")
    if suggestions:
        behavior = selection_behavior or "at-most-one"
        if behavior not in SELECTION_BEHAVIORS:
            raise ValueError(f"selectionBehavior must be one of {sorted(SELECTION_BEHAVIORS)}")
    elif selection_behavior is not None:
        raise ValueError("selectionBehavior is only allowed on a card with suggestions")
    else:
        behavior = None
    if indicator in ("warning", "critical") and not override_reasons:
        raise ValueError(f"{indicator} cards need at least one override reason")

    coding = {"system": TOPIC_SYSTEM, "code": topic}
    if topic_display and topic_display.strip():
        coding["display"] = topic_display
    source: dict[str, Any] = {"label": source_label, "topic": coding}
    if source_url and source_url.strip():
        source["url"] = source_url

    # Built without empty values by construction: every part is validated above or in the part's
    # own class, and action resources are pruned in Action.to_dict, so the card needs no prune()
    # pass of its own (it runs on every response).
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": trim_summary(summary),
        "indicator": indicator,
        "source": source,
    }
    if detail is not None and detail.strip():
        card["detail"] = detail
    if suggestions:
        card["suggestions"] = [suggestion.to_dict() for suggestion in suggestions]
        card["selectionBehavior"] = behavior
    if links:
        card["links"] = [link.to_dict() for link in links]
    if override_reasons:
        card["overrideReasons"] = [reason.to_dict() for reason in override_reasons]
    return card
