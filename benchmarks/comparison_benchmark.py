"""Benchmark: the service next to a Flask + orjson floor and HealthChain with an empty rule.

    .venv/bin/python benchmarks/comparison_benchmark.py [--records tiny,sample,1mb,3mb,50k]
        [--repeat 3] [--healthchain-venv benchmarks/.venvs/healthchain] [--json out.json]

Every server gets the same request bodies over HTTP on loopback, one keep-alive client, one
worker each, in one run:

- ``rrmm-cds``: ``cds_service.app:create_app()`` under the shipped ``deploy/gunicorn.conf.py``
  (SQLite audit store, development settings, request limits raised for the 50k record);
- ``floor``: ``benchmarks/floor_app.py`` under the same gunicorn configuration: Flask reads the
  body, orjson parses it, the answer is ``{"cards": []}``;
- ``baseline`` (with ``--baseline DIR``): the service from another checkout, e.g. ``main`` before a
  change (``git archive main | tar -x -C DIR``), under that checkout's own gunicorn configuration;
- ``healthchain``: ``benchmarks/healthchain_app.py`` (HealthChain's CDSHooksService on FastAPI,
  uvicorn, one worker) whose patient-view rule returns no card; skipped with a note when its
  virtual environment is missing (see that module for how to create it).

Records: ``tiny`` (~3 KB: patient, myeloma diagnosis, two labs), ``sample`` (the
``triple-class-refractory`` sample persona, ~47 KB), ``1mb`` / ``3mb`` / ``50k`` (``patient_record.py`` with 1,000 / 3,000 /
50,000 Observations, dated up to today so the rules see a current record).

Each repetition calls every server in turn (interleaved, so load on the machine hits all alike)
``--calls`` times per record (default by size); the p50 over all calls is printed with the
ratios rrmm-cds / floor and rrmm-cds / HealthChain, and each server's CPU time per call (its
processes' user + system time over the calls, from ``/proc``: what load on a shared machine moves
least). Targets (issue 17): sample p50 below
HealthChain's; 1 MB and 3 MB <= 1.3 x floor; 50k <= 1.2 x floor. Not a test: the figures move
with the machine's load; compare ratios from one run. docs/performance.md keeps dated runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import patient_record  # noqa: E402 - sibling module of this script
from servers import REPO, Server, free_port, gunicorn_server  # noqa: E402

from cds_service import samples  # noqa: E402
from cds_service.services import SERVICES  # noqa: E402

SERVICE_PATH = "/cds-services/rrmm-relapse-guidance"
SAMPLE_PERSONA = "triple-class-refractory"
MAX_REQUEST_BYTES = 256 * 1024 * 1024
RECORDS = ("tiny", "sample", "1mb", "3mb", "50k")
# Calls per server and repetition: enough for a stable median, bounded for the 50 MB record.
DEFAULT_CALLS = {"tiny": 40, "sample": 40, "1mb": 10, "3mb": 5, "50k": 1}
TARGETS = {"1mb": 1.3, "3mb": 1.3, "50k": 1.2}


@dataclass
class RecordResult:
    record: str
    body_bytes: int
    cards: dict[str, int] = field(default_factory=dict)
    p50_ms: dict[str, float] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # server CPU per call (mean)
    calls: int = 0


def build_bodies(names: list[str]) -> dict[str, bytes]:
    patient_record.EVALUATION_DATE = date.today()  # _day() reads it at call time
    bodies: dict[str, bytes] = {}
    for name in names:
        if name == "tiny":
            bodies[name] = orjson.dumps(tiny_request())
        elif name == "sample":
            bodies[name] = orjson.dumps(sample_request())
        else:
            count = {"1mb": 1000, "3mb": 3000, "50k": 50_000}[name]
            bodies[name] = orjson.dumps(patient_record.patient_view_request(count))
    return bodies


def tiny_request() -> dict:
    """A patient-view call of about 3 KB: the patient, a myeloma diagnosis and two lab results."""
    request = patient_record.patient_view_request(0)
    prefetch = request["prefetch"]
    for key, bundle in prefetch.items():
        if isinstance(bundle, dict) and bundle.get("resourceType") == "Bundle":
            keep = {"conditions": 1, "labObservations": 2}.get(key, 0)
            bundle["entry"] = bundle["entry"][:keep]
            bundle["total"] = len(bundle["entry"])
    labs = patient_record._serial_observations(2)  # noqa: SLF001 - the same generator, two results
    for observation in labs:
        for detail in ("meta", "performer", "issued", "referenceRange", "interpretation"):
            observation.pop(detail, None)
    prefetch["labObservations"]["entry"] = [{"resource": observation} for observation in labs]
    return request


def sample_request() -> dict:
    """What ``rrmm-cds fixtures request triple-class-refractory`` prints: the persona with full prefetch."""
    return samples.hook_request(samples.persona(SAMPLE_PERSONA), "patient-view", samples.utc_today(),
                                prefetch_templates=SERVICES["rrmm-relapse-guidance"].prefetch)


def start_servers(
    workdir: Path, healthchain_venv: Path | None, baseline: Path | None = None
) -> tuple[list[Server], list[str]]:
    notes: list[str] = []
    service_env = {
        "RRMM_CDS_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        "RRMM_CDS_MAX_RESOURCES": "1000000",
    }
    servers = [
        gunicorn_server("rrmm-cds", "cds_service.app:create_app()", workdir, env=service_env),
        gunicorn_server("floor", "benchmarks.floor_app:app", workdir),
    ]
    if baseline is not None:  # another checkout (e.g. `git archive main | tar -x -C DIR`)
        servers.append(gunicorn_server("baseline", "cds_service.app:create_app()", workdir,
                                       env=service_env, source=baseline))
    uvicorn = healthchain_venv / "bin" / "uvicorn" if healthchain_venv else None
    if uvicorn is not None and uvicorn.exists():
        port = free_port()
        argv = [str(uvicorn), "healthchain_app:app", "--app-dir", str(REPO / "benchmarks"), "--host",
                "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
                "--no-access-log"]
        hc = Server("healthchain", argv, port=port, ready_path="/health")
        hc.call_path = "/cds" + SERVICE_PATH  # type: ignore[attr-defined] - HealthChain's base path
        servers.append(hc)
    else:
        notes.append(f"healthchain: not run (no {uvicorn}; see benchmarks/healthchain_app.py)")
    try:
        for server in servers:
            server.wait_ready()
    except BaseException:
        # One that does not start must not leave the others running after the benchmark exits.
        for server in servers:
            server.stop()
        raise
    return servers, notes


def call_path(server: Server) -> str:
    return getattr(server, "call_path", SERVICE_PATH)


def run(
    names: list[str], repeat: int, calls: dict[str, int], healthchain_venv: Path | None,
    baseline: Path | None = None,
) -> tuple[list[RecordResult], list[str]]:
    bodies = build_bodies(names)
    results: list[RecordResult] = []
    with tempfile.TemporaryDirectory(prefix="rrmm-compare-") as tmp:
        servers, notes = start_servers(Path(tmp), healthchain_venv, baseline)
        sessions = {server.name: requests.Session() for server in servers}
        headers = {"Content-Type": "application/json"}
        try:
            for name in names:
                body = bodies[name]
                result = RecordResult(name, len(body), calls=calls[name] * repeat)
                timings: dict[str, list[float]] = {server.name: [] for server in servers}
                cpu: dict[str, float] = {server.name: 0.0 for server in servers}
                for server in servers:  # warm-up, and the card count as a sanity check
                    answer = sessions[server.name].post(server.base_url + call_path(server), data=body,
                                                        headers=headers, timeout=600)
                    answer.raise_for_status()
                    result.cards[server.name] = len(answer.json()["cards"])
                for _ in range(repeat):
                    for server in servers:
                        url = server.base_url + call_path(server)
                        session = sessions[server.name]
                        cpu_before = server.cpu_seconds()
                        for _ in range(calls[name]):
                            started = time.perf_counter()
                            answer = session.post(url, data=body, headers=headers, timeout=600)
                            answer.content  # noqa: B018 - read the whole answer
                            timings[server.name].append(time.perf_counter() - started)
                            answer.raise_for_status()
                        cpu[server.name] += server.cpu_seconds() - cpu_before
                result.cpu_ms = {key: used * 1000 / (calls[name] * repeat) for key, used in cpu.items()}
                result.p50_ms = {key: statistics.median(values) * 1000 for key, values in timings.items()}
                results.append(result)
                print(row(result), flush=True)
        finally:
            for session in sessions.values():
                session.close()
            for server in servers:
                server.stop()
    return results, notes


HEADER = (f"{'record':>7} {'KB':>8} | {'rrmm-cds':>9} {'floor':>9} {'healthchain':>11} | "
          f"{'x floor':>7} {'x HC':>6} | cards (rrmm-cds) | baseline: p50, x floor, cards")


def row(result: RecordResult) -> str:
    p50 = result.p50_ms
    service, floor, hc = p50.get("rrmm-cds"), p50.get("floor"), p50.get("healthchain")
    hc_text = f"{hc:9.2f}ms" if hc is not None else f"{'—':>11}"
    ratio_hc = f"{service / hc:6.2f}" if hc else f"{'—':>6}"
    line = (f"{result.record:>7} {result.body_bytes / 1000:8.1f} | {service:7.2f}ms {floor:7.2f}ms {hc_text} | "
            f"{service / floor:7.2f} {ratio_hc} | {result.cards.get('rrmm-cds'):>16}")
    baseline = p50.get("baseline")
    if baseline is not None:
        line += f" | {baseline:.2f}ms {baseline / floor:.2f} {result.cards.get('baseline')}"
    cpu = result.cpu_ms
    line += "\n" + " " * 17 + "server CPU per call: " + ", ".join(f"{key} {value:.2f} ms" for key, value in cpu.items())
    if cpu.get("floor"):
        line += f" (rrmm-cds {cpu['rrmm-cds'] / cpu['floor']:.2f}x floor"
        line += f", {cpu['rrmm-cds'] / cpu['healthchain']:.2f}x HealthChain)" if cpu.get("healthchain") else ")"
    return line


def verdicts(results: list[RecordResult]) -> list[str]:
    lines = []
    for result in results:
        service, floor, hc = (result.p50_ms.get(k) for k in ("rrmm-cds", "floor", "healthchain"))
        if result.record == "sample" and hc:
            verdict = "MEETS" if service < hc else "MISSES"
            lines.append(f"sample: rrmm-cds {service:.2f} ms vs HealthChain empty rule {hc:.2f} ms "
                         f"({service / hc:.2f}x; target < 1): {verdict}")
        if result.record in TARGETS and floor:
            target = TARGETS[result.record]
            ratio = service / floor
            verdict = "MEETS" if ratio <= target else "MISSES"
            lines.append(f"{result.record}: {ratio:.2f}x the floor (target <= {target:g}x): {verdict}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", default=",".join(RECORDS), help="comma-separated: " + ", ".join(RECORDS))
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (each calls every server in turn)")
    parser.add_argument("--calls", type=int, default=None, help="calls per server and repetition (default by size)")
    parser.add_argument("--healthchain-venv", type=Path, default=REPO / "benchmarks" / ".venvs" / "healthchain")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="also run the service from this checkout (e.g. main, exported with git archive)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    names = [name for name in args.records.split(",") if name]
    unknown = set(names) - set(RECORDS)
    if unknown:
        parser.error(f"unknown records: {', '.join(sorted(unknown))}")
    calls = {name: args.calls or DEFAULT_CALLS[name] for name in names}
    print(f"rrmm-cds comparison benchmark · python {sys.version.split()[0]} · {os.cpu_count()} CPUs · "
          f"load {os.getloadavg()[0]:.2f} · repeat {args.repeat}")
    print(HEADER)
    results, notes = run(names, args.repeat, calls, args.healthchain_venv, args.baseline)
    for line in [*verdicts(results), *notes]:
        print(line)
    if args.json:
        args.json.write_bytes(orjson.dumps([asdict(r) for r in results], option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
