"""Prefetch resolution: turn a hook request into one ResourceIndex (spec 02 §1).

Each prefetch key of the service is in one of these states:

- ``null``: the client says nothing exists: nothing to do, never fetched;
- a resource, or a Bundle (typed or not) with no ``next`` link: complete;
- a Bundle with a ``next`` link: the first page; the rest is read from fhirServer;
- absent, an OperationOutcome, any other JSON object that is not a resource, or recognisably
  DSTU2/STU3 data (``cds_service.fhir_version``): missing; the search the template describes is
  run against fhirServer.

Keys the client sends that we did not ask for are indexed too (clients may send more).
``Medication`` references nothing resolves are read from fhirServer when one is usable, in
batches, while the searches run (``cds_service.fhir_fetcher``).

A source that cannot be had follows its key's failure policy (``cds_service.fetch_policy``): a
required one refuses the call (412 naming the search), an optional one is reported in
:attr:`GatherReport.unavailable` (the handler turns that into a data-gap card; the log gets the
resource type and the reason). A fhirServer that could not deliver (5xx, 429, timeouts after the
retries, circuit open) is :class:`UpstreamUnavailable`; one that declares a FHIR version other
than R4 is refused (412); the fetched data of one call is bounded (bytes, resources: 412 naming
the limit).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from cds_service import config, fhir_urls, fhir_version
from cds_service.errors import CdsHttpError, DataUnavailable
from cds_service.fetch_policy import FailureMode, UnavailableSource
from cds_service.fhir_client import FetchAllowance, FetchLimitExceeded, FhirClient, FhirError, next_link
from cds_service.fhir_fetcher import Fetcher, FetchRun, Task
from cds_service.outbound_http import deadline_session
from cds_service.services import ServiceDefinition, render_template
from fhir_mappings.draft_orders import unresolved_draft_medication_references
from fhir_mappings.index import ResourceIndex

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_S = 5
# Requests leave one after another (each costs CPU under the GIL), so the searches whose page
# chains are usually longest go first: remaining pages of prefetch Bundles, then by the volume a
# myeloma record typically holds. The order changes when each chain starts, never what is read.
_LIKELY_LONGEST_FIRST = (
    "labObservations",
    "medicationAdministrations",
    "vitalSigns",
    "medicationDispenses",
    "medicationRequests",
    "medicationStatements",
    "findingObservations",
    "conditions",
    "procedures",
    "diagnosticReports",
    "patient",
)


@dataclass(frozen=True)
class FetchLimits:
    """The outbound-fetch settings of ``cds_service.config.Settings``, as one hook call uses them."""

    timeout: float  # seconds, wall clock, per outbound request
    budget: float  # seconds, all fetches of one call together
    retries: int
    max_bytes: int = config.DEFAULT_FETCH_MAX_BYTES  # fetched bytes per call
    max_resources: int = config.DEFAULT_FETCH_MAX_RESOURCES  # fetched resources per call
    # Requests in flight per call: the default covers the discovery's 11 reads, the capability
    # statement and Medication batches.
    concurrency: int = config.DEFAULT_FETCH_CONCURRENCY
    upstream_failure_status: int = config.DEFAULT_UPSTREAM_FAILURE_STATUS  # 412 (CDS Hooks) or 503

    @classmethod
    def from_settings(cls, settings: config.Settings) -> FetchLimits:
        return cls(
            timeout=settings.fetch_timeout,
            budget=settings.fetch_budget,
            retries=settings.fetch_retries,
            max_bytes=settings.fetch_max_bytes,
            max_resources=settings.fetch_max_resources,
            concurrency=settings.fetch_concurrency,
            upstream_failure_status=settings.upstream_failure_status,
        )


@dataclass
class GatherReport:
    """What happened while gathering, for logs, metrics and the handler (no patient data)."""

    fetches: int = 0
    fetch_errors: int = 0
    missing_keys: list[str] = field(default_factory=list)
    unavailable: list[UnavailableSource] = field(default_factory=list)
    peak_in_flight: int = 0
    fetched_bytes: int = 0
    fetched_resources: int = 0


class UpstreamUnavailable(CdsHttpError):
    """fhirServer could not deliver required data now (after retries): try again later."""

    def __init__(self, diagnostics: str, *, status: int, retry_after: float | None) -> None:
        super().__init__(status, diagnostics, code="transient")
        self.retry_after = max(1, math.ceil(retry_after)) if retry_after else DEFAULT_RETRY_AFTER_S


@dataclass
class _KeyState:
    key: str
    resource_type: str
    template: str
    reason: str | None = None  # why it needs the server ("not sent", "only the first page", ...)
    search: str | None = None  # rendered search/read to run
    next_url: str | None = None  # remaining pages of a prefetch Bundle


def gather(
    request: dict[str, Any],
    service: ServiceDefinition,
    *,
    permits: Callable[[str], bool],
    limits: FetchLimits,
    session_factory: Callable[[], requests.Session] = deadline_session,
    report: GatherReport | None = None,
) -> ResourceIndex:
    """Build the ResourceIndex for a validated request; raise a CdsHttpError when it cannot."""
    report = report if report is not None else GatherReport()
    context = request["context"]
    problem = fhir_urls.id_problem(context["patientId"])
    if problem:
        raise CdsHttpError(400, f"context.patientId {problem}", code="value")
    index = ResourceIndex(context["patientId"])
    needed = _index_prefetch(request.get("prefetch") or {}, service, context, index)
    report.missing_keys.extend(state.key for state in needed)
    medications = _unresolved_medications(index, context)
    if not needed and not medications:
        return index  # complete: fhirServer, if any, is not contacted
    client, refusal = _usable_client(request, permits, limits, session_factory)
    if client is None:
        for state in needed:
            _record(
                report, UnavailableSource(state.key, state.resource_type, f"{state.reason}, no fhirServer")
            )
        if medications:
            _record(report, UnavailableSource("Medication", "Medication", "referenced, no fhirServer"))
        _refuse_unless_omittable(service, needed, report, extra=refusal)
        return index
    try:
        _fetch(client, service, needed, medications, index, report, limits)
    finally:
        report.fetches += client.requests_made
        report.fetch_errors += client.errors
        report.fetched_bytes = client.allowance.bytes_read
        report.fetched_resources = client.allowance.resources_read
    return index


def _index_prefetch(
    prefetch: dict[str, Any], service: ServiceDefinition, context: dict[str, Any], index: ResourceIndex
) -> list[_KeyState]:
    needed: list[_KeyState] = []
    for key, template in service.prefetch.items():
        state = _KeyState(key, template.split("?", 1)[0].split("/", 1)[0], template)
        value = prefetch.get(key, _ABSENT)
        if value is None:
            continue  # nothing exists
        if value is _ABSENT or not _is_resource(value) or value.get("resourceType") == "OperationOutcome":
            state.reason = "not sent" if value is _ABSENT else "the client could not read it"
        elif fhir_version.pre_r4_in_value(value):
            state.reason = "FHIR DSTU2/STU3 data"
        else:
            index.add_any(value)
            state.next_url = next_link(value)
            if state.next_url is None:
                continue
            state.reason = "only the first page sent"
        if state.next_url is None:
            state.search = render_template(template, context)
            if state.search is None:
                continue  # a token the context cannot fill: nothing to ask for
        needed.append(state)
    # Extra keys: index what they carry; their pages are not ours to chase. DSTU2/STU3 resources in
    # them are dropped by the index and reported in the facts' notes (pre-r4-resource).
    for key, value in prefetch.items():
        if key not in service.prefetch and _is_resource(value):
            index.add_any(value)
    return needed


_ABSENT: Any = object()


def _is_resource(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("resourceType"), str)


def _usable_client(
    request: dict[str, Any],
    permits: Callable[[str], bool],
    limits: FetchLimits,
    session_factory: Callable[[], requests.Session],
) -> tuple[FhirClient | None, str | None]:
    server = request.get("fhirServer")
    if not isinstance(server, str) or not server:
        return None, None
    problem = fhir_urls.fhir_server_problem(server)
    if problem is None and not permits(fhir_urls.fhir_server_base(server)):
        problem = "is not on the allow-list"
    if problem:
        log.warning(
            "fhirServer not usable; not contacted", extra={"event": "fhir_server_refused", "reason": problem}
        )
        return None, f"fhirServer {problem}"
    authorization = request.get("fhirAuthorization")
    token = authorization.get("access_token") if isinstance(authorization, dict) else None
    client = FhirClient(
        server,
        access_token=token if isinstance(token, str) and token else None,
        permits=permits,
        timeout=limits.timeout,
        retries=limits.retries,
        budget=limits.budget,
        session=session_factory(),
        allowance=FetchAllowance(limits.max_bytes, limits.max_resources),
    )
    return client, None


def _fetch(
    client: FhirClient,
    service: ServiceDefinition,
    needed: list[_KeyState],
    medications: set[str],
    index: ResourceIndex,
    report: GatherReport,
    limits: FetchLimits,
) -> None:
    def is_fatal(task: Task, error: FhirError) -> bool:
        if task.key == "metadata":
            return False  # an unreadable capability statement only leaves the version unknown
        if error.transient or isinstance(error, FetchLimitExceeded):
            return True
        return any(service.policy(state.key).mode is FailureMode.FAIL for state in served.get(id(task), ()))

    fetcher = Fetcher(client, index, concurrency=limits.concurrency, is_fatal=is_fatal)
    tasks: list[Task] = []
    known = fhir_version.CAPABILITIES.get(client.base_url)
    if known is not None:
        _refuse_non_r4(known.version)
    # Clients often fill several keys with one result (and one next link): fetch each target
    # once, on behalf of every key that needs it.
    by_target: dict[str, Task] = {}
    served: dict[int, list[_KeyState]] = {}
    for state in sorted(needed, key=_start_order):
        target = state.next_url or state.search or ""
        task = by_target.get(target)
        if task is None:
            if state.next_url:
                task = fetcher.remaining_pages(state.key, state.resource_type, state.next_url)
            else:
                task = fetcher.search(state.key, state.resource_type, target)
            by_target[target] = task
            tasks.append(task)
        served.setdefault(id(task), []).append(state)
    tasks.extend(fetcher.medications(medications))
    if known is None:
        tasks.append(fetcher.capability_statement())
    run = fetcher.run(tasks, follow_medications=True)
    report.peak_in_flight = max(report.peak_in_flight, client.peak_in_flight)
    _judge(run, client, service, served, report, limits)


def _start_order(state: _KeyState) -> tuple[bool, int]:
    rank = _LIKELY_LONGEST_FIRST.index(state.key) if state.key in _LIKELY_LONGEST_FIRST else len(_LIKELY_LONGEST_FIRST)
    return state.next_url is None, rank


def _judge(
    run: FetchRun,
    client: FhirClient,
    service: ServiceDefinition,
    served: dict[int, list[_KeyState]],
    report: GatherReport,
    limits: FetchLimits,
) -> None:
    """Turn the task outcomes into the call's fate, most fundamental refusal first."""
    for outcome in run.outcomes:
        if outcome.task.key == "metadata" and (outcome.error is None or not outcome.error.transient):
            version = fhir_version.declared_version(outcome.task.result)
            fhir_version.CAPABILITIES.put(client.base_url, version)
            _refuse_non_r4(version)
    if isinstance(run.fatal, FetchLimitExceeded):
        limit = run.fatal
        unit = "bytes" if limit.limit.endswith("BYTES") else "resources"
        raise CdsHttpError(
            412,
            f"the data on fhirServer for this call exceeds the limit {limit.limit} ({limit.value} {unit}); "
            "ask the operator to raise it or send the data as prefetch",
            code="too-costly",
        )
    if run.fatal is not None and run.fatal.transient:
        raise UpstreamUnavailable(
            f"fhirServer could not deliver the patient's data ({run.fatal.reason}); try again later",
            status=limits.upstream_failure_status,
            retry_after=getattr(run.fatal, "retry_after", None),
        )
    failed: list[_KeyState] = []
    for outcome in run.outcomes:
        task, error = outcome.task, outcome.error
        if error is None or task.key == "metadata":
            continue
        reason = _reason(error, task)
        if task.key == "Medication":
            _record(report, UnavailableSource("Medication", "Medication", reason))
            continue
        for state in served.get(id(task), ()):
            _record(report, UnavailableSource(state.key, state.resource_type, reason))
            failed.append(state)
    _refuse_unless_omittable(service, failed, report)


def _reason(error: FhirError, task: Task) -> str:
    base = f"HTTP {error.status}" if error.status else error.reason
    return f"{base} after {task.pages} page{'s' if task.pages != 1 else ''}" if task.pages else base


def _refuse_non_r4(version: str | None) -> None:
    if version is not None and not fhir_version.is_r4(version):
        raise CdsHttpError(
            412,
            f"fhirServer declares FHIR {fhir_version.release_name(version)}; this service reads FHIR R4 "
            "(4.0.x) only",
            code="not-supported",
        )


def _refuse_unless_omittable(
    service: ServiceDefinition, failed: list[_KeyState], report: GatherReport, *, extra: str | None = None
) -> None:
    """412 naming every failed search the answer cannot do without."""
    failed_keys = {state.key for state in failed}
    answered = {key for key in service.prefetch if key not in failed_keys}
    blocking = [state for state in failed if not service.policy(state.key).omittable(answered)]
    if not blocking:
        return
    reasons = {source.key: source.reason for source in report.unavailable}
    named = "; ".join(
        f"{state.key} ({state.template}): {reasons.get(state.key, state.reason)}" for state in blocking
    )
    raise DataUnavailable(f"required data could not be obtained: {named}" + (f" ({extra})" if extra else ""))


def _record(report: GatherReport, source: UnavailableSource) -> None:
    report.unavailable.append(source)
    log.warning(
        "a source of the patient's record is unavailable",
        extra={
            "event": "fetch_source_unavailable",
            "resource_type": source.resource_type,
            "reason": source.reason,
        },
    )


def _unresolved_medications(index: ResourceIndex, context: dict[str, Any]) -> set[str]:
    """Medication references, in the record or in the drafted orders, that only the server has."""
    return index.unresolved_medication_references() | unresolved_draft_medication_references(
        context.get("draftOrders"), index
    )
