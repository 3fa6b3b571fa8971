"""Prefetch resolution: turn a hook request into one ResourceIndex (spec 02 §1).

Each prefetch key of the service is in one of these states:

- ``null``: the client says nothing exists: nothing to do, never fetched;
- a resource, or a Bundle (typed or not) with no ``next`` link: complete;
- a Bundle with a ``next`` link: the first page; the rest is read from fhirServer;
- absent, an OperationOutcome, or any other JSON object that is not a resource: missing; the
  search the template describes is run against fhirServer.

Keys the client sends that we did not ask for are indexed too (clients may send more). When
anything is missing and there is no usable fhirServer (none given, not on the allow-list, or
failing), the call cannot be answered faithfully: :class:`DataUnavailable` (412).
``Medication`` references the index cannot resolve are read from fhirServer when one is usable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urljoin

import requests

from cds_service.errors import DataUnavailable
from cds_service.fhir_client import FhirClient, FhirError, FhirNotFound, has_userinfo, next_link
from cds_service.services import ServiceDefinition, render_template
from fhir_mappings.draft_orders import unresolved_draft_medication_references
from fhir_mappings.index import ResourceIndex

log = logging.getLogger(__name__)

MAX_MEDICATION_READS = 50
MAX_PARALLEL_FETCHES = 4


@dataclass(frozen=True)
class FetchLimits:
    timeout: float
    budget: float
    retries: int


@dataclass
class GatherReport:
    """What happened while gathering, for logs and metrics (counts only, no patient data)."""

    fetches: int = 0
    fetch_errors: int = 0
    missing_keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pending:
    missing_searches: tuple[str, ...]  # rendered relative URLs of keys to fetch
    next_links: tuple[str, ...]  # absolute next-page URLs from prefetch Bundles


def gather(
    request: dict[str, Any],
    service: ServiceDefinition,
    *,
    permits: Callable[[str], bool],
    limits: FetchLimits,
    session_factory: Callable[[], requests.Session] = requests.Session,
    report: GatherReport | None = None,
) -> ResourceIndex:
    """Build the ResourceIndex for a validated request; raise DataUnavailable (412) if incomplete."""
    report = report if report is not None else GatherReport()
    context = request["context"]
    index = ResourceIndex(context["patientId"])
    pending = _index_prefetch(request.get("prefetch") or {}, service, context, index, report)

    needs_server = bool(pending.missing_searches or pending.next_links)
    if not needs_server and not _unresolved_medications(index, context):
        return index  # complete: fhirServer, if any, is not contacted
    client = _usable_client(request, permits, limits, session_factory)
    if needs_server and client is None:
        raise DataUnavailable(
            "required prefetch data is missing ("
            + ", ".join(report.missing_keys or ["incomplete pages"])
            + ") and no usable fhirServer was given to fetch it from"
        )
    if client is None:
        return index
    try:
        if needs_server:
            _fetch_missing(client, pending, index)
        _read_unresolved_medications(client, index, context)
    except FhirError as exc:
        raise DataUnavailable(f"required data could not be fetched from fhirServer: {exc.reason}") from None
    finally:
        report.fetches += client.requests_made
        report.fetch_errors += client.errors
    return index


def _index_prefetch(
    prefetch: dict[str, Any],
    service: ServiceDefinition,
    context: dict[str, Any],
    index: ResourceIndex,
    report: GatherReport,
) -> _Pending:
    missing: list[str] = []
    next_links: list[str] = []
    for key, template in service.prefetch.items():
        value = prefetch.get(key) if key in prefetch else _ABSENT
        if value is None:
            continue  # nothing exists
        if value is _ABSENT or not _is_resource(value) or value.get("resourceType") == "OperationOutcome":
            rendered = render_template(template, context)
            if rendered is not None:
                report.missing_keys.append(key)
                missing.append(rendered)
            continue
        index.add_any(value)
        link = next_link(value)
        if link:
            next_links.append(link)
    # Extra keys: index what they carry; their pages are not ours to chase.
    for key, value in prefetch.items():
        if key not in service.prefetch and _is_resource(value):
            index.add_any(value)
    # Clients often fill several keys of one type with the same result (and the same next link):
    # fetch each distinct search and page chain once.
    return _Pending(tuple(dict.fromkeys(missing)), tuple(dict.fromkeys(next_links)))


_ABSENT: Any = object()


def _is_resource(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("resourceType"), str)


def _usable_client(
    request: dict[str, Any],
    permits: Callable[[str], bool],
    limits: FetchLimits,
    session_factory: Callable[[], requests.Session],
) -> FhirClient | None:
    server = request.get("fhirServer")
    if not isinstance(server, str) or not server:
        return None
    if has_userinfo(server) or not permits(server):
        log.warning("fhirServer not permitted; not contacted", extra={"event": "fhir_server_refused"})
        return None
    authorization = request.get("fhirAuthorization")
    token = authorization.get("access_token") if isinstance(authorization, dict) else None
    return FhirClient(
        server,
        access_token=token if isinstance(token, str) and token else None,
        permits=permits,
        timeout=limits.timeout,
        retries=limits.retries,
        budget=limits.budget,
        session=session_factory(),
    )


def _fetch_missing(client: FhirClient, pending: _Pending, index: ResourceIndex) -> None:
    """Run the missing searches/reads and the remaining pages in parallel, index in this thread.

    Fetching one key after another would add the latencies of up to a dozen round trips; the
    shared client keeps the one time budget. The index is not thread-safe: only this thread
    feeds it. The first failure wins (412) and the remaining tasks are cancelled.
    """
    tasks: list[Callable[[], list[dict[str, Any]]]] = []
    for relative in pending.missing_searches:
        if "?" in relative:
            tasks.append(partial(_all_pages, client.search(relative)))
        else:
            tasks.append(partial(_single, client.read, relative))
    for link in pending.next_links:
        # The first page came with the prefetch; the rest lives on fhirServer. A next link that
        # points anywhere else is refused inside the client (never contacted): 412.
        tasks.append(partial(_all_pages, client.pages(urljoin(client.base_url + "/", link))))
    for results in _run_parallel(tasks):
        index.add_any(results)


def _all_pages(pages: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(pages)


def _single(read: Callable[[str], dict[str, Any]], relative: str) -> list[dict[str, Any]]:
    return [read(relative)]


def _run_parallel(tasks: list[Callable[[], list[dict[str, Any]]]]) -> Iterator[list[dict[str, Any]]]:
    if len(tasks) <= 1:
        for task in tasks:
            yield task()
        return
    executor = ThreadPoolExecutor(
        max_workers=min(MAX_PARALLEL_FETCHES, len(tasks)), thread_name_prefix="fhir"
    )
    try:
        futures = [executor.submit(task) for task in tasks]
        for future in futures:
            yield future.result()
    finally:
        # On failure, queued fetches are dropped; running ones end within the fetch budget.
        executor.shutdown(wait=False, cancel_futures=True)


def _unresolved_medications(index: ResourceIndex, context: dict[str, Any]) -> set[str]:
    """Medication references, in the record or in the drafted orders, that only the server has."""
    return index.unresolved_medication_references() | unresolved_draft_medication_references(
        context.get("draftOrders"), index
    )


def _read_unresolved_medications(client: FhirClient, index: ResourceIndex, context: dict[str, Any]) -> None:
    references = sorted(_unresolved_medications(index, context))[:MAX_MEDICATION_READS]
    tasks = [partial(_medication, client, reference) for reference in references]
    for results in _run_parallel(tasks):
        index.add_any(results)


def _medication(client: FhirClient, reference: str) -> list[dict[str, Any]]:
    try:
        return [client.read(reference)]
    except FhirNotFound:
        # A deleted Medication: the drug may still be named in the reference's display.
        return []
