"""Benchmark: patient-view latency against the cost of just parsing the request body.

    .venv/bin/python benchmarks/patient_view_benchmark.py [--sizes 100,1000,10000] [--no-http]
        [--seconds 3] [--json results.json]

For each record size (number of Observations; plus ~6 years of therapy history, see
``patient_record.py``) it measures, on the same request body:

- ``parse``: ``orjson.loads(body)`` alone (freeing the result included) — the floor any JSON
  service pays, measured back to back (warm caches: the strict baseline);
- ``in-process``: the full Flask app (body read, validation, index, facts, rules, cards, response
  validation, audit write to a SQLite store, metrics, serialisation) through the WSGI test client;
- ``http``: the same call over HTTP to gunicorn (``deploy/gunicorn.conf.py``, one worker so the
  numbers are latency, not throughput), client on the same host.

It prints p50 / p99 wall time, p50 CPU time (thread time: stable on a shared, loaded machine)
and the ratios to the parse cost. In process, freeing the parsed request is part of each call;
over HTTP the service frees it after sending the response (``cds_service.app``), but
back-to-back calls on the one worker still wait for it. Targets (issue 7): at ~1 MB, p50 <= 4x parse and p99 <= 8x
parse; growth linear in record size (ms per MB roughly constant across sizes).
Not a test: timings depend on the machine and its load; the README keeps a dated run.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from patient_record import patient_view_request  # noqa: E402 - sibling module of this script
from servers import gunicorn_server  # noqa: E402 - sibling module of this script

REPO = Path(__file__).resolve().parents[1]
SERVICE = "rrmm-relapse-guidance"
# The 10,000-Observation record is ~10 MB: above the default request limit (5 MB).
MAX_REQUEST_BYTES = 64 * 1024 * 1024
GC_THRESHOLDS = (50_000, 20, 100)  # the values of deploy/gunicorn.conf.py
TARGET_P50_RATIO = 4.0
TARGET_P99_RATIO = 8.0


@dataclass
class Timing:
    runs: int
    p50_ms: float
    p99_ms: float
    cpu_p50_ms: float | None = None


@dataclass
class SizeResult:
    observations: int
    body_bytes: int
    cards: int
    parse: Timing
    in_process: Timing
    http: Timing | None


def measure(action: Callable[[], object], seconds: float, min_runs: int = 15, max_runs: int = 2000) -> Timing:
    """Run ``action`` repeatedly for about ``seconds`` (after one warm-up) and summarise."""
    action()
    walls: list[float] = []
    cpus: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(walls) < min_runs or (time.perf_counter() < deadline and len(walls) < max_runs):
        cpu_start, wall_start = time.thread_time(), time.perf_counter()
        action()
        walls.append(time.perf_counter() - wall_start)
        cpus.append(time.thread_time() - cpu_start)
    return Timing(
        runs=len(walls),
        p50_ms=statistics.median(walls) * 1000,
        p99_ms=_percentile(walls, 0.99) * 1000,
        cpu_p50_ms=statistics.median(cpus) * 1000,
    )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _in_process_client(database_url: str):
    from cds_service.app import create_app
    from cds_service.config import Settings

    app = create_app(
        Settings(database_url=database_url, log_level="WARNING", max_request_bytes=MAX_REQUEST_BYTES)
    )
    # As deploy/gunicorn.conf.py does after start-up (post_worker_init).
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app.test_client()


def run(sizes: list[int], seconds: float, http: bool) -> list[SizeResult]:
    results: list[SizeResult] = []
    with tempfile.TemporaryDirectory(prefix="rrmm-bench-") as workdir:
        client = _in_process_client(f"sqlite:///{Path(workdir) / 'inproc-store.sqlite3'}")
        server = gunicorn_server("patient-view", "cds_service.app:create_app()", Path(workdir),
                                 env={"RRMM_CDS_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES)}) if http else None
        session = None
        if server is not None:
            import requests

            server.wait_ready()
            session = requests.Session()
        try:
            for observations in sizes:
                body = orjson.dumps(patient_view_request(observations))
                url = f"/cds-services/{SERVICE}"
                first = client.post(url, data=body, content_type="application/json")
                if first.status_code != 200:
                    raise RuntimeError(
                        f"service answered {first.status_code} for {observations} Observations"
                    )
                parse = measure(lambda body=body: orjson.loads(body), seconds)
                in_process = measure(
                    lambda body=body, url=url: client.post(url, data=body, content_type="application/json"),
                    seconds,
                )
                http_timing = None
                if session is not None and server is not None:
                    headers = {"Content-Type": "application/json"}
                    http_timing = measure(
                        lambda body=body, target=server.base_url + url, headers=headers: session.post(
                            target, data=body, headers=headers
                        ).raise_for_status(),
                        seconds,
                    )
                    http_timing.cpu_p50_ms = None  # client-side CPU is not the service's
                results.append(
                    SizeResult(
                        observations,
                        len(body),
                        len(first.get_json()["cards"]),
                        parse,
                        in_process,
                        http_timing,
                    )
                )
                print(_row(results[-1]), flush=True)
        finally:
            if session is not None:
                session.close()
            if server is not None:
                server.stop()
    return results


HEADER = (
    f"{'Observations':>12} {'body MB':>8} {'cards':>5} | {'parse p50':>9} {'cpu':>6} | "
    f"{'in-proc p50':>11} {'p99':>7} {'cpu p50':>7} {'x p50':>6} {'x p99':>6} {'x cpu':>6} | "
    f"{'http p50':>8} {'p99':>7} {'x p50':>6} {'x p99':>6}"
)


def _row(result: SizeResult) -> str:
    parse = result.parse.p50_ms
    line = (
        f"{result.observations:>12} {result.body_bytes / 1e6:>8.2f} {result.cards:>5} | {parse:>7.2f}ms "
        f"{result.parse.cpu_p50_ms:>6.2f} | "
        f"{result.in_process.p50_ms:>9.2f}ms {result.in_process.p99_ms:>7.2f} {result.in_process.cpu_p50_ms:>7.2f} "
        f"{result.in_process.p50_ms / parse:>6.1f} {result.in_process.p99_ms / parse:>6.1f} "
        f"{(result.in_process.cpu_p50_ms or 0) / (result.parse.cpu_p50_ms or 1):>6.1f} |"
    )
    if result.http is not None:
        line += (
            f" {result.http.p50_ms:>6.2f}ms {result.http.p99_ms:>7.2f} "
            f"{result.http.p50_ms / parse:>6.1f} {result.http.p99_ms / parse:>6.1f}"
        )
    return line


def summarise(results: list[SizeResult]) -> list[str]:
    """Verdict lines: ratio targets at the ~1 MB size and linearity across sizes."""
    lines = []
    near_1mb = min(results, key=lambda r: abs(r.body_bytes - 1_000_000))
    parse = near_1mb.parse
    for label, timing in (("in-process", near_1mb.in_process), ("http", near_1mb.http)):
        if timing is None:
            continue
        p50_ratio = timing.p50_ms / parse.p50_ms
        p99_ratio = timing.p99_ms / parse.p50_ms
        verdict = "MEETS" if p50_ratio <= TARGET_P50_RATIO and p99_ratio <= TARGET_P99_RATIO else "MISSES"
        lines.append(
            f"{label} at {near_1mb.body_bytes / 1e6:.2f} MB: p50 {p50_ratio:.1f}x parse (target <= "
            f"{TARGET_P50_RATIO:g}x), p99 {p99_ratio:.1f}x (target <= {TARGET_P99_RATIO:g}x): {verdict} the target"
        )
    if near_1mb.in_process.cpu_p50_ms and parse.cpu_p50_ms:
        lines.append(
            f"in-process CPU time at {near_1mb.body_bytes / 1e6:.2f} MB: "
            f"{near_1mb.in_process.cpu_p50_ms / parse.cpu_p50_ms:.1f}x the parse CPU time "
            "(robust to other load on the machine)"
        )
    ordered = sorted(results, key=lambda r: r.body_bytes)
    marginal = [
        f"{small.observations}->{large.observations}: "
        f"{(large.in_process.cpu_p50_ms or 0) - (small.in_process.cpu_p50_ms or 0):.0f} ms / "
        f"{(large.body_bytes - small.body_bytes) / 1e6:.2f} MB = "
        f"{((large.in_process.cpu_p50_ms or 0) - (small.in_process.cpu_p50_ms or 0)) / ((large.body_bytes - small.body_bytes) / 1e6):.1f} ms/MB"
        for small, large in zip(ordered, ordered[1:], strict=False)
    ]
    if marginal:
        lines.append("growth (in-process CPU per added MB; linear = about equal): " + "; ".join(marginal))
    return lines


def stage_breakdown(sizes: list[int], repeat: int = 9) -> None:
    """CPU time of each stage of a patient-view call (median of ``repeat``), to find hot spots.

    Mirrors ``cds_service.pipeline.Pipeline.run`` stage by stage; a stage whose internals have
    changed is reported as n/a rather than failing the benchmark.
    """
    from datetime import date

    from cds_service import handlers, schemas
    from cds_service.app import create_app
    from cds_service.config import Settings
    from cds_service.data_gathering import GatherReport, gather
    from cds_service.handlers import HookContext
    from cds_service.observability.audit import record_hook_response
    from cds_service.pipeline import find_service, validate_request

    with tempfile.TemporaryDirectory(prefix="rrmm-bench-") as workdir:
        app = create_app(
            Settings(
                database_url=f"sqlite:///{Path(workdir) / 'stages.sqlite3'}",
                log_level="WARNING",
                max_request_bytes=MAX_REQUEST_BYTES,
            )
        )
        state = app.extensions["rrmm_cds"]
        pipeline = state.pipeline
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        service = find_service(SERVICE)
        print(f"\nCPU ms per stage (median of {repeat}):")
        for observations in sizes:
            body = orjson.dumps(patient_view_request(observations))
            document = orjson.loads(body)
            stages: dict[str, Callable[[], object]] = {}

            def gathered(document: dict = document) -> object:
                return gather(
                    document,
                    service,
                    permits=pipeline.permits,
                    limits=pipeline.limits,
                    session_factory=pipeline.session_factory,
                    report=GatherReport(),
                )

            context = HookContext(
                service_id=service.id,
                hook=service.hook,
                patient_id=document["context"]["patientId"],
                evaluation_date=date.fromisoformat("2026-03-15"),
                index=gathered(),
                context=document["context"],
                kb=pipeline.kb,
            )
            cards = handlers.patient_view_cards(context)
            result = pipeline.run(SERVICE, orjson.loads(body), context.evaluation_date)
            stages["parse (orjson.loads)"] = lambda body=body: orjson.loads(body)
            stages["request validation"] = lambda document=document: validate_request(service, document)
            stages["gather + index"] = gathered
            stages["facts + rules + cards"] = lambda context=context: handlers.patient_view_cards(context)
            stages["response schema check"] = lambda cards=cards: [
                schemas.problems("response", {"cards": [card]}) for card in cards
            ]
            stages["audit + metrics"] = lambda result=result: record_hook_response(
                state.store, "salt", result
            )
            stages["response serialisation"] = lambda result=result: orjson.dumps(result.response)
            cells = []
            for name, action in stages.items():
                try:
                    cells.append(
                        f"{name} {measure(action, 0, min_runs=repeat, max_runs=repeat).cpu_p50_ms:.2f}"
                    )
                except Exception as error:  # noqa: BLE001 - a changed internal must not end the run
                    cells.append(f"{name} n/a ({type(error).__name__})")
            print(f"  {observations:>6} Observations: " + " · ".join(cells))


def skip_response_schema_check() -> None:
    """What-if for the hot spot: the pipeline without its per-card JSON Schema check of cards.

    Used only with --what-if-no-response-check, to show what the rest of the stack costs; the
    service itself always checks its cards.
    """
    from cds_service import schemas

    original = schemas.problems

    def problems(name: str, document: object, *, prefix: str = "") -> list[str]:
        return [] if name == "response" else original(name, document, prefix=prefix)

    schemas.problems = problems  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated Observation counts")
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per size and mode")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn/HTTP measurement")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument(
        "--stages", action="store_true", help="also print the CPU cost of each pipeline stage"
    )
    parser.add_argument(
        "--what-if-no-response-check",
        action="store_true",
        help="measure in process without the per-card response JSON Schema check (implies --no-http)",
    )
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if args.what_if_no_response_check:
        skip_response_schema_check()
        args.no_http = True
        print("WHAT-IF: per-card response JSON Schema check disabled (not the service as shipped)")

    print(
        f"rrmm-cds patient-view benchmark · python {sys.version.split()[0]} · {os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f}"
    )
    print(HEADER)
    results = run(sizes, args.seconds, http=not args.no_http)
    for line in summarise(results):
        print(line)
    if args.stages:
        stage_breakdown(sizes)
    if args.json:
        args.json.write_bytes(
            orjson.dumps([asdict(result) for result in results], option=orjson.OPT_INDENT_2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
