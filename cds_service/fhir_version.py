"""Which FHIR version the data is in: the fhirServer's CapabilityStatement and pre-R4 resources.

The service reads FHIR R4 (4.0.x) only. DSTU2 and STU3 resources look similar enough to be misread
silently (a DSTU2 Condition's ``clinicalStatus`` is a string, a MedicationOrder is not a
MedicationRequest), so:

- a fhirServer's ``[base]/metadata`` is read once per server (cached per process, bounded, with
  the call's wall-clock deadline); a server that declares another ``fhirVersion`` is refused
  with a 412 saying so. A server whose capability statement cannot be read (4xx, not JSON, no
  ``fhirVersion``) is used as an R4 server; the cache remembers that for a shorter time.
- a prefetch value holding a resource that is recognisably DSTU2/STU3 (:func:`pre_r4_reason`) is
  not indexed: the key counts as unavailable and follows its failure policy
  (``cds_service.fetch_policy``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The recogniser lives in fhir_mappings (the index uses it too); re-exported here for callers.
from fhir_mappings.fhir_versions import pre_r4_in_value, pre_r4_reason

__all__ = ["CAPABILITIES", "CapabilityCache", "declared_version", "is_r4", "pre_r4_in_value", "pre_r4_reason",
           "release_name"]

R4_PREFIX = "4.0."
KNOWN_TTL_S = 3600.0  # a declared version is trusted for an hour
UNKNOWN_TTL_S = 300.0  # a server that did not say is asked again after five minutes
MAX_SERVERS = 1024

_RELEASE_NAMES = {"1.0": "DSTU2", "3.0": "STU3", "4.3": "R4B", "5.0": "R5"}


def release_name(version: str) -> str:
    """'3.0.2' -> 'STU3 (3.0.2)'; unknown families are shown as given."""
    name = _RELEASE_NAMES.get(".".join(version.split(".")[:2]))
    return f"{name} ({version})" if name else version


def is_r4(version: str) -> bool:
    return version.startswith(R4_PREFIX) or version == "4.0"


@dataclass(frozen=True, slots=True)
class ServerVersion:
    version: str | None  # None: the server did not say (or its metadata could not be read)
    checked_at: float


class CapabilityCache:
    """fhirServer base URL -> declared FHIR version, per process, least recently used first out."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_servers: int = MAX_SERVERS) -> None:
        self._clock = clock
        self._max = max_servers
        self._entries: OrderedDict[str, ServerVersion] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, base_url: str) -> ServerVersion | None:
        with self._lock:
            entry = self._entries.get(base_url)
            if entry is None:
                return None
            ttl = KNOWN_TTL_S if entry.version else UNKNOWN_TTL_S
            if self._clock() - entry.checked_at > ttl:
                del self._entries[base_url]
                return None
            self._entries.move_to_end(base_url)
            return entry

    def put(self, base_url: str, version: str | None) -> ServerVersion:
        entry = ServerVersion(version, self._clock())
        with self._lock:
            self._entries[base_url] = entry
            self._entries.move_to_end(base_url)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CAPABILITIES = CapabilityCache()


def declared_version(document: Any) -> str | None:
    """``fhirVersion`` of a CapabilityStatement (or DSTU2 Conformance), if it has a usable one."""
    if not isinstance(document, dict) or document.get("resourceType") not in (
        "CapabilityStatement",
        "Conformance",
    ):
        return None
    version = document.get("fhirVersion")
    return version.strip() if isinstance(version, str) and version.strip() else None
