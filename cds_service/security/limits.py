"""Per-request resource limit (``RRMM_CDS_MAX_RESOURCES``, default in cds_service.config; spec 01 §3).

The body-size limit bounds bytes; this bounds work.  A few megabytes of tiny resources
(``{"resourceType":"Observation"}`` is 30 bytes) would otherwise mean hundreds of thousands of
resources to index and evaluate in one call.  The count is cheap - no deep traversal: each
prefetch value counts as one resource, or as its number of entries when it is a Bundle, and the
same for each context value (``draftOrders`` and friends).
"""

from __future__ import annotations

from typing import Any


def _count(value: Any) -> int:
    if isinstance(value, dict):
        entries = value.get("entry")
        if value.get("resourceType") == "Bundle" and isinstance(entries, list):
            return len(entries)
        return 1 if "resourceType" in value else 0
    if isinstance(value, list):
        return sum(1 for item in value if isinstance(item, dict))
    return 0


def count_value_resources(value: Any, *, keyed: bool = True) -> int:
    """Resources in the timeline's explain body: a resource, a Bundle (its entries), a list of
    either (the pages of a search), or a map of keys to any of these."""
    if isinstance(value, list):
        return sum(count_value_resources(item, keyed=False) for item in value)
    if isinstance(value, dict) and "resourceType" not in value:
        return sum(count_value_resources(item, keyed=False) for item in value.values()) if keyed else 0
    return _count(value)


def count_resources(document: Any) -> int:
    """How many FHIR resources a hook request carries (prefetch plus context)."""
    if not isinstance(document, dict):
        return 0
    total = 0
    for section in ("prefetch", "context"):
        values = document.get(section)
        if isinstance(values, dict):
            total += sum(_count(value) for value in values.values())
    return total


def too_many_resources(document: Any, limit: int) -> bool:
    return count_resources(document) > limit
