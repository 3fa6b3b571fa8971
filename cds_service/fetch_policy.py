"""What the service does when one source of patient data cannot be had (per prefetch key).

Like the prefetch failure modes of HAPI FHIR's CDS Hooks server, each prefetch key has a named
failure mode:

- ``FAIL``: the data is required for a safe answer (the Patient, the conditions). The call is
  refused: 412 with an OperationOutcome naming the search.
- ``OMIT``: the answer stands without it (a second medication source, dispenses, observations,
  procedures, reports). The call is answered; the missing source is reported in a data-gap card
  and in the log (resource type and why: HTTP status, timeout, DSTU2/STU3 data; no patient data).
- ``OMIT_IF_ALTERNATIVE``: ``OMIT`` when one of ``alternatives`` was read, else ``FAIL``. The
  medication history is required, but sites keep it in MedicationRequest or MedicationStatement
  and often refuse to search the other one.

"Cannot be had" covers: the server refused the search (a 4xx such as 400, 403, 404), the key held
DSTU2/STU3 resources and could not be re-read from an R4 server, or nothing was sent and there was
no usable fhirServer. A server that keeps failing (5xx, 429, timeouts after the retries) is
different: the data exists but the server could not deliver it now, so the call is refused as
transient (see ``cds_service.data_gathering.UpstreamUnavailable``) whatever the key's mode.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from clinical_rules.decisions import ReportedGap


class FailureMode(enum.Enum):
    FAIL = "fail"
    OMIT = "omit"
    OMIT_IF_ALTERNATIVE = "omit-if-alternative"


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    mode: FailureMode
    alternatives: tuple[str, ...] = ()  # prefetch keys, for OMIT_IF_ALTERNATIVE

    def omittable(self, answered: set[str]) -> bool:
        """May the call be answered without this key, given the keys that were read?"""
        if self.mode is FailureMode.OMIT:
            return True
        if self.mode is FailureMode.OMIT_IF_ALTERNATIVE:
            return any(key in answered for key in self.alternatives)
        return False


REQUIRED = KeyPolicy(FailureMode.FAIL)
OPTIONAL = KeyPolicy(FailureMode.OMIT)

# Referenced Medication resources read from fhirServer are always OPTIONAL: the drug is often
# also named in the reference's display or the record's text, so a refused read is reported.


@dataclass(frozen=True, slots=True)
class UnavailableSource:
    """One source of the record the answer had to do without (safe to log and show).

    ``resource_type`` is the FHIR type searched; ``key`` the prefetch key (or ``"Medication"`` for
    referenced medications); ``reason`` a fixed phrase: ``HTTP 403``, ``not sent``,
    ``FHIR DSTU2/STU3 data``, ``only the first page`` ...
    """

    key: str
    resource_type: str
    reason: str

    def describe(self) -> str:
        return f"{self.resource_type} ({self.reason})"

    def as_reported_gap(self) -> ReportedGap:
        """The data-gap item the knowledge base words (data_gaps.yaml ``reported.source-unavailable``)."""
        return ReportedGap.of("source-unavailable", key=self.key, resource_type=self.resource_type, reason=self.reason)
