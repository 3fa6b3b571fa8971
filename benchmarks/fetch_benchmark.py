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
  page N+1's URL is in page N), twice: ``server`` = the sum of its requests' durations at the stub
  (delay + serialisation: the strict floor) and ``wall`` = from its first request received to
  its last answer sent (adds each page's turnaround: transfer, the parse that finds the next
  link, the next request);
- ``end to end``: the call as the client sees it; ``in-process``: the same record sent as
  prefetch (what the call costs without fetching), so the fetch overhead is
  ``end to end - longest chain - in-process``.

Targets (issue 17): fetch span <= 1.15 x the longest chain; end to end <= longest chain +
in-process + 10 ms (printed against both chain measures). Not a test: timings move with the machine's load; docs/performance.md keeps
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


def chain_key(served: Served) -> str:
    plain = urlencode(sorted((n, v) for n, v in parse_qsl(served.query) if n not in ("_offset", "_count")))
    return f"{served.path}?{plain}"


def chains(log: list[Served]) -> dict[str, tuple[float, float]]:
    """Per page chain (the requests of one search: same query without paging parameters):
    (seconds the stub spent answering them, seconds from its first request received to its last
    answer sent). The second includes each page's turnaround - its transfer, the parse that finds
    the next link, the next request - which no client can overlap with the chain itself."""
    grouped: dict[str, list[Served]] = defaultdict(list)
    for served in log:
        grouped[chain_key(served)].append(served)
    return {
        key: (sum(s.ended - s.started for s in items), max(s.ended for s in items) - min(s.started for s in items))
        for key, items in grouped.items()
    }


@dataclass
class CaseResult:
    case: str
    record_bytes: int
    page_size: int
    delay_ms: float
    requests: int
    peak_in_flight: int
    fetch_span_ms: float
    chain_server_ms: float  # the longest chain's requests as the stub timed them
    chain_wall_ms: float  # the same chain from its first request to its last answer
    longest_chain: str
    chain_pages: int
    end_to_end_ms: float
    in_process_ms: float
    span_over_chain_server: float
    span_over_chain_wall: float
    overhead_server_ms: float  # end to end - chain (server time) - in-process
    overhead_wall_ms: float  # end to end - chain (wall) - in-process
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
        rows: list[dict[str, Any]] = []
        in_process: list[float] = []
        for _ in range(repeat):
            elapsed, status = call(request)
            log, peak = stub.served()
            per_chain = chains(log)
            longest = max(per_chain, key=lambda key: per_chain[key][1])
            rows.append({
                "e2e": elapsed, "span": (max(s.ended for s in log) - min(s.started for s in log)) * 1000,
                "server": per_chain[longest][0] * 1000, "wall": per_chain[longest][1] * 1000, "chain": longest,
                "pages": sum(1 for s in log if chain_key(s) == longest), "requests": len(log), "peak": peak,
                "status": status,
            })
            in_process.append(call(with_prefetch)[0])

        def median(name: str) -> float:
            return statistics.median(row[name] for row in rows)

        e2e, span, server, wall = median("e2e"), median("span"), median("server"), median("wall")
        processing = statistics.median(in_process)
        return CaseResult(
            case=name, record_bytes=len(orjson.dumps(resources)), page_size=page_size, delay_ms=delay_s * 1000,
            requests=int(median("requests")), peak_in_flight=max(row["peak"] for row in rows),
            fetch_span_ms=round(span, 1), chain_server_ms=round(server, 1), chain_wall_ms=round(wall, 1),
            longest_chain=rows[-1]["chain"].split("?")[0], chain_pages=int(median("pages")),
            end_to_end_ms=round(e2e, 1), in_process_ms=round(processing, 1),
            span_over_chain_server=round(span / server, 3), span_over_chain_wall=round(span / wall, 3),
            overhead_server_ms=round(e2e - server - processing, 1), overhead_wall_ms=round(e2e - wall - processing, 1),
            status=max(row["status"] for row in rows),
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
    print("case     record page  req peak |  span ms | longest chain: pages server ms  wall ms | span/chain "
          "server  wall | e2e ms in-proc | overhead server  wall")
    for r in results:
        print(f"{r.case:7} {r.record_bytes / 1024:6.0f}K {r.page_size:4} {r.requests:4} {r.peak_in_flight:4} | "
              f"{r.fetch_span_ms:8.1f} | {r.longest_chain.rsplit('/', 1)[-1]:>15} {r.chain_pages:3} {r.chain_server_ms:9.1f}"
              f" {r.chain_wall_ms:8.1f} |            {r.span_over_chain_server:6.3f} {r.span_over_chain_wall:5.3f} | "
              f"{r.end_to_end_ms:6.1f} {r.in_process_ms:7.1f} |          {r.overhead_server_ms:6.1f} "
              f"{r.overhead_wall_ms:5.1f}   (HTTP {r.status})")
    print("targets: span <= 1.15 x longest chain; end to end - longest chain - in-process <= 10 ms")
    if args.json:
        args.json.write_bytes(orjson.dumps([asdict(r) for r in results], option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
