"""Benchmark: a patient-view call with no prefetch, the service reading everything from fhirServer.

    .venv/bin/python benchmarks/fetch_benchmark.py [--delay-ms 20] [--repeat 7] [--json out.json]

A local FHIR stub (loopback, one thread per connection, HTTP/1.1 keep-alive) serves one patient's
record with a fixed delay before every answer and pages of a fixed size (``_count`` above it is
cut to it, like Epic's caps). Two cases:

- ``sample``: the largest sample persona (``penta-refractory``), pages of 20;
- ``1mb``: ``benchmarks/patient_record.py`` with 1,000 Observations (~1 MB), pages of 100.

For each case the service (``create_app``, in process, the Flask test client, development
settings) answers ``repeat`` calls after one warm-up call (which also reads ``metadata``; later
calls use the cached capability statement). Printed per case (median over the calls):

- ``requests`` and ``peak in flight`` as the stub saw them (the stub runs in its own process);
- ``fetch span``: first request received to last answer sent, at the stub;
- ``longest chain``: the longest sequence of requests that cannot overlap (a search's pages:
  page N+1's URL is in page N), as the sum of its requests' durations at the stub;
- ``end to end``: the call as the client sees it; ``in-process``: the same record sent as
  prefetch (what the call costs without fetching), so the fetch overhead is
  ``end to end - longest chain - in-process``.

Targets (issue 17): fetch span <= 1.15 x the longest chain; end to end <= longest chain +
in-process + 10 ms. Not a test: timings move with the machine's load; docs/performance.md keeps
dated runs.
"""

from __future__ import annotations

import argparse
import http.server
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from patient_record import PATIENT_ID as RECORD_PATIENT_ID  # noqa: E402
from patient_record import patient_record  # noqa: E402

from cds_service import samples  # noqa: E402


@dataclass
class Served:
    path: str
    query: str
    started: float
    ended: float


class FhirStub:
    """A FHIR R4 search/read server over a list of resources, slow by a fixed delay."""

    def __init__(self, resources: list[dict[str, Any]], *, page_size: int, delay_s: float) -> None:
        self.by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for resource in resources:
            self.by_type[resource["resourceType"]].append(resource)
        self.page_size = page_size
        self.delay_s = delay_s
        self.log: list[Served] = []
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every answer, which no real server does.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stub.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/fhir"

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        if request.path == "/__log":  # the benchmark's own question: what was served, then reset
            with self._lock:
                body = orjson.dumps({"log": [asdict(s) for s in self.log], "peak": self.peak})
                self.log.clear()
                self.peak = 0
            request.send_response(200)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
            return
        started = time.perf_counter()
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        parts = urlsplit(request.path)
        try:
            time.sleep(self.delay_s)
            body = orjson.dumps(self.answer(parts.path.removeprefix("/fhir"), parts.query))
            request.send_response(200)
            request.send_header("Content-Type", "application/fhir+json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.log.append(Served(parts.path, parts.query, started, time.perf_counter()))

    def answer(self, path: str, query: str) -> dict[str, Any]:
        segments = [s for s in path.split("/") if s]
        if segments == ["metadata"]:
            return {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
                    "fhirVersion": "4.0.1", "date": "2026-01-01"}
        if len(segments) == 2:
            found = [r for r in self.by_type[segments[0]] if r.get("id") == segments[1]]
            return found[0] if found else {"resourceType": "OperationOutcome", "issue": []}
        return self.search(segments[0], parse_qsl(query))

    def search(self, rtype: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        items = self.by_type[rtype]
        count, offset, includes = self.page_size, 0, False
        for name, value in params:
            wanted = set(value.split(","))
            if name in ("category", "code"):
                items = [r for r in items if _has_token(r.get(name), wanted)]
            elif name == "_id":
                items = [r for r in items if r.get("id") in wanted]
            elif name == "_count":
                count = min(max(int(value), 1), self.page_size)
            elif name == "_offset":
                offset = int(value)
            elif name == "_include":
                includes = value.endswith(":medication")
        page = items[offset : offset + count]
        entries = [{"resource": r, "search": {"mode": "match"}} for r in page]
        if includes:
            references = {(r.get("medicationReference") or {}).get("reference") for r in page}
            entries += [{"resource": m, "search": {"mode": "include"}} for m in self.by_type["Medication"]
                        if f"Medication/{m['id']}" in references]
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(items),
                                  "entry": entries}
        if offset + count < len(items):
            kept = [(n, v) for n, v in params if n not in ("_offset", "_count")]
            kept += [("_count", str(count)), ("_offset", str(offset + count))]
            bundle["link"] = [{"relation": "next", "url": f"{self.base}/{rtype}?{urlencode(kept)}"}]
        return bundle


def _serve_stub(resources: list[dict[str, Any]], page_size: int, delay_s: float, ready: Any) -> None:
    stub = FhirStub(resources, page_size=page_size, delay_s=delay_s)
    ready.send(stub.base)
    stub.serve_forever()


class StubProcess:
    """The stub in a process of its own, so that it never competes with the service for the GIL
    (a real FHIR server runs elsewhere)."""

    def __init__(self, resources: list[dict[str, Any]], *, page_size: int, delay_s: float) -> None:
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_serve_stub, args=(resources, page_size, delay_s, child),
                                               daemon=True)
        self.process.start()
        self.base: str = parent.recv()
        self.origin = self.base.rsplit("/fhir", 1)[0]

    def served(self) -> tuple[list[Served], int]:
        """Requests served since the last call (and the peak in flight among them)."""
        with urllib.request.urlopen(f"{self.origin}/__log", timeout=10) as response:
            document = orjson.loads(response.read())
        return [Served(**s) for s in document["log"]], document["peak"]

    def close(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


def _has_token(concepts: Any, wanted: set[str]) -> bool:
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        for coding in (concept or {}).get("coding", []) if isinstance(concept, dict) else []:
            if coding.get("code") in wanted or f"{coding.get('system')}|{coding.get('code')}" in wanted:
                return True
    return False


def chains(log: list[Served]) -> dict[str, float]:
    """Seconds per page chain: requests of one search (same query without paging parameters)."""
    totals: dict[str, float] = defaultdict(float)
    for served in log:
        plain = urlencode(sorted((n, v) for n, v in parse_qsl(served.query) if n not in ("_offset", "_count")))
        totals[f"{served.path}?{plain}"] += served.ended - served.started
    return totals


@dataclass
class CaseResult:
    case: str
    record_bytes: int
    page_size: int
    delay_ms: float
    requests: int
    peak_in_flight: int
    fetch_span_ms: float
    longest_chain_ms: float
    longest_chain: str
    end_to_end_ms: float
    in_process_ms: float
    span_over_chain: float
    overhead_ms: float  # end to end - longest chain - in-process
    status: int


def run_case(name: str, resources: list[dict[str, Any]], patient_id: str, *, page_size: int, delay_s: float,
             repeat: int, client: Any) -> CaseResult:
    from cds_service.services import PREFETCH

    stub = StubProcess(resources, page_size=page_size, delay_s=delay_s)
    try:
        request = {"hook": "patient-view", "context": {"userId": "Practitioner/bench", "patientId": patient_id},
                   "fhirServer": stub.base, "fhirAuthorization": {"access_token": "bench-token",
                                                                   "token_type": "Bearer"}}
        with_prefetch = dict(request, prefetch=samples.prefetch(PREFETCH, resources, patient_id))
        del with_prefetch["fhirServer"]

        def call(body: dict[str, Any]) -> tuple[float, int]:
            started = time.perf_counter()
            response = client.post("/cds-services/rrmm-relapse-guidance",
                                   data=orjson.dumps(dict(body, hookInstance=str(uuid.uuid4()))),
                                   content_type="application/json")
            return (time.perf_counter() - started) * 1000, response.status_code

        call(request)  # warm-up: connections, metadata
        call(with_prefetch)
        stub.served()
        rows: list[tuple[float, float, float, str, int, int, int]] = []
        in_process: list[float] = []
        status = 200
        for _ in range(repeat):
            elapsed, status = call(request)
            log, peak = stub.served()
            span = (max(s.ended for s in log) - min(s.started for s in log)) * 1000
            per_chain = chains(log)
            longest = max(per_chain, key=per_chain.__getitem__)
            rows.append((elapsed, span, per_chain[longest] * 1000, longest, len(log), peak, status))
            in_process.append(call(with_prefetch)[0])
        end_to_end = statistics.median(r[0] for r in rows)
        span = statistics.median(r[1] for r in rows)
        chain = statistics.median(r[2] for r in rows)
        processing = statistics.median(in_process)
        return CaseResult(
            case=name, record_bytes=len(orjson.dumps(resources)), page_size=page_size, delay_ms=delay_s * 1000,
            requests=int(statistics.median(r[4] for r in rows)), peak_in_flight=max(r[5] for r in rows),
            fetch_span_ms=round(span, 1), longest_chain_ms=round(chain, 1), longest_chain=rows[-1][3].split("?")[0],
            end_to_end_ms=round(end_to_end, 1), in_process_ms=round(processing, 1),
            span_over_chain=round(span / chain, 3), overhead_ms=round(end_to_end - chain - processing, 1),
            status=status,
        )
    finally:
        stub.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from cds_service.app import create_app
    from cds_service.config import Settings

    persona = samples.persona("penta-refractory")
    cases = [
        ("sample", samples.resources(persona, samples.utc_today()), persona.patient_id, 20),
        ("1mb", patient_record(1000), RECORD_PATIENT_ID, 100),
    ]
    results = []
    with tempfile.TemporaryDirectory(prefix="rrmm-fetch-bench-") as workdir:
        app = create_app(Settings(database_url=f"sqlite:///{Path(workdir) / 'bench.sqlite3'}", log_level="WARNING"))
        client = app.test_client()
        for name, resources, patient_id, page_size in cases:
            results.append(run_case(name, resources, patient_id, page_size=page_size,
                                    delay_s=args.delay_ms / 1000, repeat=args.repeat, client=client))
    print(f"{'case':7} {'record':>8} {'page':>4} {'req':>4} {'peak':>4} {'span ms':>8} {'chain ms':>9} "
          f"{'span/chain':>10} {'e2e ms':>7} {'in-proc':>7} {'overhead':>8}  longest chain")
    for r in results:
        print(f"{r.case:7} {r.record_bytes / 1024:7.0f}K {r.page_size:4} {r.requests:4} {r.peak_in_flight:4} "
              f"{r.fetch_span_ms:8.1f} {r.longest_chain_ms:9.1f} {r.span_over_chain:10.3f} {r.end_to_end_ms:7.1f} "
              f"{r.in_process_ms:7.1f} {r.overhead_ms:8.1f}  {r.longest_chain}  (HTTP {r.status})")
    print("targets: span/chain <= 1.15; overhead (e2e - chain - in-process) <= 10 ms")
    if args.json:
        args.json.write_bytes(orjson.dumps([asdict(r) for r in results], option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
