"""Benchmark: start-up of the shipped gunicorn configuration, and of the ``rrmm-cds`` command.

    .venv/bin/python benchmarks/startup_benchmark.py [--repeat 3] [--workers N] [--compare-no-preload]
        [--database-url URL] [--json out.json]

For each run: ``gunicorn -c deploy/gunicorn.conf.py 'cds_service.app:create_app()'`` (the
configuration's own worker count unless ``--workers``; SQLite development store in a temp dir unless
``--database-url``), timed from the process start to the first 200 on ``/cds-services``; once every
worker has booted and is idle, each one's PSS (``/proc/<pid>/smaps_rollup``: its share of pages it
shares with the master and the other workers) and the CPU seconds master and workers used. One
unmeasured run first warms the page cache (the figures are "warm"). ``--compare-no-preload`` also
runs the same configuration with ``preload_app = False`` (every worker imports and loads the
application itself), in alternation. Last: ``rrmm-cds --help`` wall time.

Targets (issue 17): warm start to the first 200 <= 2 s; PSS <= 45 MB per worker. Not a test:
timings move with the machine's load (printed: the load average, and CPU seconds, which move less).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import GUNICORN_CONFIG, REPO, Server, free_port, venv_bin  # noqa: E402
from servers import children as _children  # noqa: E402
from servers import process_cpu_seconds as _cpu_s  # noqa: E402

TARGET_START_S = 2.0
TARGET_PSS_MB = 45.0


@dataclass
class StartRun:
    preload: bool
    first_200_s: float
    workers: int
    pss_mb: list[float] = field(default_factory=list)
    master_pss_mb: float = 0.0
    cpu_s: float = 0.0


def _pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _config(workdir: Path, preload: bool) -> Path:
    if preload:
        return GUNICORN_CONFIG
    variant = workdir / "gunicorn-no-preload.conf.py"
    variant.write_text(f"exec(compile(open({str(GUNICORN_CONFIG)!r}).read(), {str(GUNICORN_CONFIG)!r}, 'exec'))\n"
                       "preload_app = False\n")
    return variant


def start_once(workdir: Path, *, preload: bool, workers: int | None, database_url: str | None) -> StartRun:
    port = free_port()
    env = {
        "RRMM_CDS_BIND": f"127.0.0.1:{port}",
        "RRMM_CDS_PROBE_PORT": "0",  # the master's listeners: not what this measures, and fixed ports
        "RRMM_CDS_METRICS_PORT": "0",
        "GUNICORN_LOG_LEVEL": "warning",
        "RRMM_CDS_LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'store.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
    }
    if workers is not None:
        env["GUNICORN_WORKERS"] = str(workers)
    argv = [venv_bin("gunicorn"), "-c", str(_config(workdir, preload)), "--access-logfile", "/dev/null",
            "cds_service.app:create_app()"]
    server = Server("rrmm-cds", argv, port=port, ready_path="/cds-services", env=env)
    try:
        first = server.wait_ready(interval=0.01)
        expected = workers or _configured_workers()
        pids = _settled_workers(server.process.pid, expected)
        run = StartRun(preload, first, len(pids))
        run.pss_mb = [_pss_mb(pid) for pid in pids]
        run.master_pss_mb = _pss_mb(server.process.pid)
        run.cpu_s = _cpu_s(server.process.pid) + sum(_cpu_s(pid) for pid in pids)
        return run
    finally:
        server.stop()


def _configured_workers() -> int:
    import runpy

    return int(runpy.run_path(str(GUNICORN_CONFIG))["workers"])


def _settled_workers(master: int, expected: int, timeout: float = 60) -> list[int]:
    """The workers, once all are there and none used CPU for 0.5 s (booted and idle)."""
    deadline = time.monotonic() + timeout
    last: float | None = None
    while time.monotonic() < deadline:
        pids = _children(master)
        if len(pids) >= expected:
            try:
                used = sum(_cpu_s(pid) for pid in pids)
            except OSError:
                used = None
            if used is not None and last is not None and used - last < 0.01:
                return pids
            last = used
        time.sleep(0.5)
    return _children(master)


def help_time(repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([venv_bin("rrmm-cds"), "--help"], check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def summary(label: str, runs: list[StartRun]) -> str:
    pss = [p for run in runs for p in run.pss_mb]
    return (f"{label:<12} first 200 p50 {statistics.median(r.first_200_s for r in runs):5.2f} s "
            f"(runs: {', '.join(f'{r.first_200_s:.2f}' for r in runs)}) · workers {runs[0].workers} · "
            f"PSS per worker p50 {statistics.median(pss):5.1f} MB (max {max(pss):.1f}) · master "
            f"{statistics.median(r.master_pss_mb for r in runs):.1f} MB · CPU {statistics.median(r.cpu_s for r in runs):.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="default: the configuration's")
    parser.add_argument("--compare-no-preload", action="store_true")
    parser.add_argument("--database-url", default=None, help="default: a SQLite store in a temp dir")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    print(f"rrmm-cds start-up benchmark · python {sys.version.split()[0]} · {os.cpu_count()} CPUs · "
          f"load {os.getloadavg()[0]:.2f}")
    variants = [True, False] if args.compare_no_preload else [True]
    runs: dict[bool, list[StartRun]] = {variant: [] for variant in variants}
    with tempfile.TemporaryDirectory(prefix="rrmm-startup-") as tmp:
        start_once(Path(tmp), preload=True, workers=args.workers, database_url=args.database_url)  # warm-up
        for _ in range(args.repeat):
            for variant in variants:
                with tempfile.TemporaryDirectory(dir=tmp) as workdir:
                    runs[variant].append(start_once(Path(workdir), preload=variant, workers=args.workers,
                                                    database_url=args.database_url))
    for variant in variants:
        print(summary("preload" if variant else "no preload", runs[variant]))
    preloaded = runs[True]
    start = statistics.median(r.first_200_s for r in preloaded)
    pss = max(p for r in preloaded for p in r.pss_mb)
    print(f"start-up {start:.2f} s (target <= {TARGET_START_S:g} s): {'MEETS' if start <= TARGET_START_S else 'MISSES'}; "
          f"PSS per worker at most {pss:.1f} MB (target <= {TARGET_PSS_MB:g} MB): "
          f"{'MEETS' if pss <= TARGET_PSS_MB else 'MISSES'}; load now {os.getloadavg()[0]:.2f}")
    print(f"rrmm-cds --help: {help_time(args.repeat):.2f} s")
    if args.json:
        args.json.write_bytes(orjson.dumps({str(k): [asdict(r) for r in v] for k, v in runs.items()},
                                           option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
