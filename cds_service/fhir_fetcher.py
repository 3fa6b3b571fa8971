"""All the FHIR reads of one hook call, in flight at once, indexed in the calling thread.

The work is a set of tasks, each run in a worker thread of a per-call pool (at most
``concurrency`` at a time): a search (its page chain: page N+1's URL is only known from page N),
the remaining pages of a prefetch Bundle, a batch of referenced Medications
(``Medication?_id=a,b,c``) and the server's capability statement. Workers only fetch; every page
goes back through a queue to the calling thread, which indexes it (the index is not thread-safe)
and starts a Medication batch for references the page brought that nothing resolves. So the
Medication reads overlap with the searches still running instead of waiting for all of them.

Outcomes are reported per task to the caller (:class:`TaskOutcome`); what they mean for the call
(answer, 412, transient failure) is decided in ``cds_service.data_gathering``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin

from cds_service import fhir_urls
from cds_service.fhir_client import FhirClient, FhirError, FhirNotFound
from fhir_mappings.index import ResourceIndex

log = logging.getLogger(__name__)

MEDICATION_IDS_PER_SEARCH = 50  # keeps the URL short (ids are up to 64 characters)
MAX_MEDICATION_REFERENCES = 500  # more distinct references in one record are not followed
# Search parameters the service adds for speed only: a server that refuses them (400) is asked
# again without them.
_OPTIONAL_SEARCH_PARAMETERS = ("_include", "_count")
_MEDICATION_TYPES = (
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
    "MedicationDispense",
)


@dataclass
class Task:
    """One unit of fetching; ``key`` is the prefetch key it serves (or "Medication"/"metadata")."""

    key: str
    resource_type: str
    run: Callable[[Task], Iterator[dict[str, Any]]]
    pages: int = 0
    result: Any = None  # what a task hands back besides pages (the capability statement)


@dataclass
class TaskOutcome:
    task: Task
    error: FhirError | None = None


@dataclass
class FetchRun:
    """What happened: per-task outcomes, for the policy decisions of the caller."""

    outcomes: list[TaskOutcome] = field(default_factory=list)
    fatal: FhirError | None = None  # a failure that ended the run early (transient or limit)


class Fetcher:
    """Runs tasks against one client and feeds their pages into ``index``."""

    def __init__(
        self,
        client: FhirClient,
        index: ResourceIndex,
        *,
        concurrency: int,
        is_fatal: Callable[[Task, FhirError], bool],
    ) -> None:
        self._client = client
        self._index = index
        self._concurrency = max(1, concurrency)
        self._is_fatal = is_fatal
        self._events: queue.Queue[tuple[str, Task, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._requested_medications: set[str] = set()
        self._pending = 0

    # -- task constructors ---------------------------------------------------------------------
    def search(self, key: str, resource_type: str, relative: str) -> Task:
        return Task(key, resource_type, lambda task: self._search_pages(task, relative))

    def remaining_pages(self, key: str, resource_type: str, next_url: str) -> Task:
        url = urljoin(self._client.base_url + "/", next_url)
        return Task(key, resource_type, lambda task: self._client.pages(url))

    def capability_statement(self) -> Task:
        def read(task: Task) -> Iterator[dict[str, Any]]:
            task.result = self._client.read("metadata")
            return iter(())

        return Task("metadata", "CapabilityStatement", read)

    def medications(self, references: set[str]) -> list[Task]:
        """Batched reads of ``Medication/<id>`` references not requested before in this call."""
        # Ids come from references in the record: only well-formed FHIR ids are asked for.
        fresh = (ref.split("/", 1)[1] for ref in references if ref not in self._requested_medications)
        room = max(0, MAX_MEDICATION_REFERENCES - len(self._requested_medications))
        ids = sorted(mid for mid in fresh if fhir_urls.id_problem(mid) is None)[:room]
        self._requested_medications.update(f"Medication/{mid}" for mid in ids)
        return [
            Task("Medication", "Medication", lambda task, batch=batch: self._medication_batch(batch))
            for batch in (
                ids[i : i + MEDICATION_IDS_PER_SEARCH] for i in range(0, len(ids), MEDICATION_IDS_PER_SEARCH)
            )
        ]

    # -- running -------------------------------------------------------------------------------
    def run(self, tasks: list[Task], *, follow_medications: bool) -> FetchRun:
        """Run ``tasks`` (and the Medication batches their pages call for) to completion.

        Stops early at the first fatal failure: queued tasks are dropped and running ones end
        within the fetch budget (their late pages are ignored).
        """
        outcome = FetchRun()
        executor = ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="fhir")
        try:
            for task in tasks:
                self._submit(executor, task)
            while self._pending:
                kind, task, payload = self._events.get()
                if kind == "page":
                    self._index.add_any(payload)
                    if follow_medications:
                        for batch in self.medications(_unresolved_in_page(payload, self._index)):
                            self._submit(executor, batch)
                    continue
                self._pending -= 1
                error = payload if kind == "failed" else None
                outcome.outcomes.append(TaskOutcome(task, error))
                if error is not None and self._is_fatal(task, error):
                    outcome.fatal = error
                    break
        finally:
            self._stop.set()
            executor.shutdown(wait=False, cancel_futures=True)
        return outcome

    def _submit(self, executor: ThreadPoolExecutor, task: Task) -> None:
        self._pending += 1
        executor.submit(self._work, task)

    def _work(self, task: Task) -> None:
        try:
            for page in task.run(task):
                if self._stop.is_set():
                    return
                task.pages += 1
                self._events.put(("page", task, page))
        except FhirError as exc:
            self._events.put(("failed", task, exc))
            return
        except Exception as exc:  # noqa: BLE001 - a bug in one task must not hang the call
            log.error("fetch task failed", extra={"event": "fetch_error", "error_type": type(exc).__name__})
            self._events.put(("failed", task, FhirError("internal error while fetching")))
            return
        self._events.put(("done", task, None))

    # -- task bodies ---------------------------------------------------------------------------
    def _search_pages(self, task: Task, relative: str) -> Iterator[dict[str, Any]]:
        try:
            yield from self._client.search(relative)
        except FhirError as exc:
            plain = _without_optional_parameters(relative)
            if exc.status != 400 or task.pages or plain == relative:
                raise
            # Some servers refuse _include or a large _count outright: ask for the plain search.
            yield from self._client.search(plain)

    def _medication_batch(self, ids: list[str]) -> Iterator[dict[str, Any]]:
        try:
            yield from self._client.search(f"Medication?_id={','.join(ids)}&_count={max(len(ids), 1)}")
            return
        except FhirError as exc:
            if exc.transient:
                raise
        # A server without the _id search: read them one by one (a deleted one is skipped, the
        # drug may still be named in the reference's display).
        for medication_id in ids:
            try:
                yield self._client.read(f"Medication/{medication_id}")
            except FhirNotFound:
                continue


def _without_optional_parameters(relative: str) -> str:
    path, _, query = relative.partition("?")
    kept = [
        (n, v) for n, v in parse_qsl(query, keep_blank_values=True) if n not in _OPTIONAL_SEARCH_PARAMETERS
    ]
    return f"{path}?{urlencode(kept, safe=':|,/')}" if kept else path


def medication_reference(resource: dict[str, Any]) -> str | None:
    """``Medication/<id>`` of a medication record's (non-contained) medicationReference."""
    reference = resource.get("medicationReference")
    text = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(text, str) or not text or text.startswith("#"):
        return None
    parts = [p for p in text.split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == "Medication":
        return f"Medication/{parts[-1]}"
    return None


def _unresolved_in_page(page: Any, index: ResourceIndex) -> set[str]:
    found: set[str] = set()
    entries = page.get("entry") if isinstance(page, dict) and page.get("resourceType") == "Bundle" else None
    for entry in entries if isinstance(entries, list) else ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") in _MEDICATION_TYPES:
            reference = medication_reference(resource)
            if reference and index.resolve(reference) is None:
                found.add(reference)
    return found
