"""A bounded load-and-fault run on the production stack, printing its figures.

nginx (deploy's proxy configuration) in front of two gunicorn masters (deploy/gunicorn.conf.py,
production settings, client JWTs required) on a private PostgreSQL. Four client threads send hook
calls and feedback for the cards they received while, in turn: the database is stopped and
started again, a worker is SIGKILLed, both masters are restarted one after the other with
requests in flight (SIGTERM), and 50 slowloris connections are held open.

Judged: 0 unexpected answers (a 5xx is expected only while the database is down or a worker is
killed, and then only as 503 + Retry-After with an OperationOutcome "transient"), 0 requests past
the hang bound, every acknowledged feedback item stored, an audit row for every answered call,
probes answered during the slowloris phase, and no token in any log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import statistics
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
import requests
from security.jwt_helpers import ClientKeys
from sqlalchemy import create_engine, select

from cds_service import samples
from cds_service.services import discovery_document
from cds_service.serving.proxy import ProxyConfig, ProxyProcess, find_nginx
from cds_service.store.schema import audit_response, feedback

from .postgres import PrivatePostgres, postgres_bin
from .servers import BIN, REPO, Server, Slowloris, free_port, service_env, wait_http

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (.ci/run installs it)"),
    pytest.mark.skipif(postgres_bin() is None, reason="no PostgreSQL binaries (initdb, pg_ctl)"),
]

SERVICE = next(s for s in discovery_document()["services"] if s["hook"] == "patient-view")
PUBLIC = "https://cds.test"
CLIENTS = 4
HANG_BOUND_S = 30.0
EXPECTED_FAULTS = {"db-outage", "worker-kill"}


@dataclass
class Backend:
    env: dict[str, str]
    tmp: Path
    name: str
    server: Server | None = None

    @property
    def probe(self) -> str:
        return f"http://127.0.0.1:{self.env['RRMM_CDS_PROBE_PORT']}"

    def start(self) -> None:
        log_path = self.tmp / f"{self.name}.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", str(REPO / "deploy" / "gunicorn.conf.py"),
                 "cds_service.app:create_app()"],
                env=self.env, cwd=self.tmp, stdout=log_file, stderr=subprocess.STDOUT,
            )
        self.server = Server(process, f"http://{self.env['RRMM_CDS_BIND']}", log_path)
        wait_http(self.probe + "/readyz", process, log_path)

    def stop(self) -> None:
        assert self.server is not None
        self.server.stop()
        assert self.server.process.returncode == 0, self.server.log()[-2000:]

    def workers(self) -> list[int]:
        assert self.server is not None
        pid = self.server.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]


@dataclass
class Outcome:
    phase: str  # when the request was sent
    kind: str
    status: int
    seconds: float
    transient: bool
    phase_end: str = ""  # when its answer came


@dataclass
class Load:
    base_url: str
    keys: ClientKeys
    phase: str = "steady"
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    # What was sent: a write whose commit reached the database just as it went away is stored
    # though its answer was a 503, so stored rows lie between the acknowledged and the sent.
    feedback_sent: set[str] = field(default_factory=set)
    hooks_sent: set[str] = field(default_factory=set)
    hooks_answered: set[str] = field(default_factory=set)
    hangs: int = 0
    repeated: int = 0  # requests sent again after their connection closed unanswered
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        session = requests.Session()
        persona = samples.personas()[0]
        body = samples.hook_request(persona, SERVICE["hook"], samples.utc_today(),
                                    prefetch_templates=SERVICE["prefetch"])
        unused_cards: list[str] = []
        while not self.stop.is_set():
            if unused_cards:
                card = unused_cards.pop()
                item = {"card": card, "outcome": "overridden",
                        "outcomeTimestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "overrideReason": {"reason": {"code": "clinician-judgement"}}}
                self.feedback_sent.add(card)
                response = self._post("feedback", f"/cds-services/{SERVICE['id']}/feedback", {"feedback": [item]},
                                      f"{PUBLIC}/cds-services/{SERVICE['id']}/feedback", session)
                if response is not None and response.status_code == 200:
                    self.acknowledged.add(card)
                continue
            body["hookInstance"] = str(uuid.uuid4())
            self.hooks_sent.add(body["hookInstance"])
            response = self._post("hook", f"/cds-services/{SERVICE['id']}", body,
                                  f"{PUBLIC}/cds-services/{SERVICE['id']}", session)
            if response is not None and response.status_code == 200:
                self.hooks_answered.add(body["hookInstance"])
                unused_cards.extend(card["uuid"] for card in response.json()["cards"][:1])

    def _post(self, kind: str, path: str, body: dict, aud: str, session: requests.Session) -> requests.Response | None:
        phase = self.phase
        started = time.monotonic()
        for attempt in (1, 2):
            try:
                response = session.post(self.base_url + path, json=body, timeout=HANG_BOUND_S,
                                        headers={"Authorization": f"Bearer {self.keys.token(aud)}"})
                break
            except requests.Timeout:
                self.hangs += 1
                return None
            except requests.ConnectionError:
                # A proxy reload closes its idle keep-alive connections; one that closes just as a
                # request is written on it fails before any answer. Clients repeat such a request
                # once (RFC 9112 9.3.1); both calls are safe to repeat here (feedback is
                # deduplicated; a repeated hook call would show as a second audit row).
                if attempt == 1:
                    self.repeated += 1
                    continue
                self.outcomes.append(Outcome(phase, kind, 0, time.monotonic() - started, False, self.phase))
                return None
        transient = (
            response.status_code == 503
            and bool(response.headers.get("Retry-After"))
            and response.headers.get("Content-Type", "").startswith("application/json")
            and response.json().get("issue", [{}])[0].get("code") == "transient"
        )
        self.outcomes.append(
            Outcome(phase, kind, response.status_code, time.monotonic() - started, transient, self.phase)
        )
        return response


def _expected(outcome: Outcome) -> bool:
    if outcome.status == 200:
        return True
    # A request in flight when a fault began or ended may meet it.
    return bool({outcome.phase, outcome.phase_end} & EXPECTED_FAULTS) and outcome.transient


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _report(load: Load, stored: int, audited: int, hook_ok: int, probes: tuple[int, int]) -> str:
    lines = ["phase            requests  200   503  unexpected  p50 ms  p99 ms"]
    by_phase: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in load.outcomes:
        by_phase[outcome.phase].append(outcome)
    for phase, outcomes in by_phase.items():
        seconds = [o.seconds * 1000 for o in outcomes]
        lines.append(
            f"{phase:<16} {len(outcomes):>8} {sum(o.status == 200 for o in outcomes):>4} "
            f"{sum(o.status == 503 for o in outcomes):>5} {sum(not _expected(o) for o in outcomes):>11} "
            f"{statistics.median(seconds):>7.0f} {_percentile(seconds, 0.99):>7.0f}"
        )
    fivexx = sum(o.status >= 500 for o in load.outcomes)
    lines.append(f"total requests {len(load.outcomes)}, 5xx {fivexx} "
                 f"(unexpected {sum(not _expected(o) for o in load.outcomes)}), hangs > {HANG_BOUND_S:.0f} s: {load.hangs}, "
                 f"sent again after a closed connection: {load.repeated}")
    lines.append(f"feedback rows acknowledged {len(load.acknowledged)}, stored {stored}; "
                 f"hook calls answered 200: {hook_ok}, audit rows {audited}")
    lines.append(f"readiness probes during 50 slowloris connections: {probes[0]} of {probes[1]} answered")
    return "\n".join(lines)


def test_load_and_faults(tmp_path: Path) -> None:
    pg = PrivatePostgres()
    pg.start()
    keys = ClientKeys()
    issuers = keys.write(tmp_path)
    database_url = f"{pg.url}?connect_timeout=2"
    base_env = service_env(
        tmp_path,
        RRMM_CDS_ENV="production",
        RRMM_CDS_AUDIT_SALT="load-and-fault-run-salt-" + "x" * 16,
        DATABASE_URL=database_url,
        RRMM_CDS_PUBLIC_BASE_URL=PUBLIC,
        RRMM_CDS_TRUSTED_ISSUERS=str(issuers),
        RRMM_CDS_LOG_LEVEL="INFO",
        RRMM_CDS_RATE_LIMIT="1000",
        GUNICORN_WORKERS="2",
    )
    upgrade = subprocess.run([str(BIN / "rrmm-cds"), "db", "upgrade"], env=base_env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, check=False)
    assert upgrade.returncode == 0, upgrade.stderr
    backends = []
    for name in ("a", "b"):
        env = {**base_env, "RRMM_CDS_BIND": f"127.0.0.1:{free_port()}", "RRMM_CDS_PROBE_PORT": str(free_port()),
               "RRMM_CDS_METRICS_PORT": str(free_port()), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{name}")}
        backends.append(Backend(env, tmp_path, name))
    proxy_port = free_port()
    front = ProxyProcess(
        find_nginx() or "nginx",
        ProxyConfig(listen=f"127.0.0.1:{proxy_port}", header_timeout_s=5,
                    upstream=" ".join(b.env["RRMM_CDS_BIND"] for b in backends)),
        own_socket=False,
    )
    load = Load(f"http://127.0.0.1:{proxy_port}", keys)
    threads = [threading.Thread(target=load.run, daemon=True) for _ in range(CLIENTS)]
    probes = (0, 0)
    try:
        for backend in backends:
            backend.start()
        assert front.check() is None
        front.start()
        assert front.wait_listening("127.0.0.1", proxy_port)
        _check_production_surface(load.base_url, backends[0])
        for thread in threads:
            thread.start()
        # Steady state: at least 20 answers (the first calls of fresh workers are slow) or 30 s.
        steady_until = time.monotonic() + 30
        while len(load.outcomes) < 20 and time.monotonic() < steady_until:
            time.sleep(0.2)
        time.sleep(2)

        load.phase = "db-outage"
        pg.stop()
        time.sleep(4)
        pg.start()
        _wait_ready(backends, 20)

        load.phase = "worker-kill"
        os.kill(backends[0].workers()[0], signal.SIGKILL)
        time.sleep(3)

        load.phase = "rolling-restart"
        everyone = " ".join(b.env["RRMM_CDS_BIND"] for b in backends)
        for backend in backends:
            # As a rollout does: out of rotation first (requests in flight stay where they are),
            # then SIGTERM (they finish), a new process, back into rotation once it is ready.
            front.reload(" ".join(b.env["RRMM_CDS_BIND"] for b in backends if b is not backend))
            backend.stop()
            backend.start()
            front.reload(everyone)
        time.sleep(1)

        load.phase = "slowloris"
        slow = Slowloris("127.0.0.1", proxy_port, 50)
        answered = asked = 0
        try:
            for _ in range(4):
                slow.trickle()
                for backend in backends:
                    asked += 1
                    with contextlib.suppress(requests.RequestException):
                        answered += requests.get(backend.probe + "/readyz", timeout=2).status_code == 200
                time.sleep(1)
        finally:
            slow.close()
        probes = (answered, asked)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=HANG_BOUND_S + 5)
        for backend in backends:
            if backend.server is not None and backend.server.process.poll() is None:
                backend.server.stop()
        nginx_errors = (front.runtime / "error.log").read_text(errors="replace") if front.runtime.exists() else ""
        front.stop()
    try:
        engine = create_engine(database_url)
        with engine.connect() as connection:
            stored_cards = connection.execute(select(feedback.c.card_uuid)).scalars().all()
            audited_calls = connection.execute(select(audit_response.c.hook_instance)).scalars().all()
        engine.dispose()
    finally:
        pg.destroy()
    stored, audited = len(stored_cards), len(audited_calls)
    hook_ok = sum(o.kind == "hook" and o.status == 200 for o in load.outcomes)
    print("\n" + _report(load, stored, audited, hook_ok, probes))
    logs = "".join((tmp_path / f"{b.name}.log").read_text(errors="replace") for b in backends)
    print("nginx error log lines, by kind:")
    for message, count in Counter(_nginx_kind(line) for line in nginx_errors.splitlines()).most_common(8):
        print(f"  {count:>5}  {message}")
    print("service log lines at WARNING or above, by message:")
    for message, count in _log_summary(logs).most_common(12):
        print(f"  {count:>5}  {message}")

    assert load.outcomes and hook_ok > 0
    unexpected = [o for o in load.outcomes if not _expected(o)]
    assert unexpected == [], unexpected[:5]
    assert [o for o in load.outcomes if o.phase == "rolling-restart" and o.status != 200] == []
    assert load.hangs == 0
    # Nothing acknowledged is lost, nothing is stored twice, nothing is stored that was not sent.
    assert len(set(stored_cards)) == stored
    assert load.acknowledged <= set(stored_cards) <= load.feedback_sent
    assert len(set(audited_calls)) == audited
    assert load.hooks_answered <= set(audited_calls) <= load.hooks_sent
    assert len(load.hooks_answered) == hook_ok
    assert probes[0] == probes[1] > 0
    assert "eyJ" not in logs and "Traceback" not in logs
    # Each master removed its prometheus multiprocess directory when it exited.
    assert not any(Path(b.env["PROMETHEUS_MULTIPROC_DIR"]).exists() for b in backends)


def _nginx_kind(line: str) -> str:
    # "2026/12/03 13:20:22 [crit] 1#1: *2 connect() ... failed (13: ...) while connecting to upstream, client: ..."
    text = line.split("]", 1)[-1]
    text = text.split(": ", 1)[-1] if "#" in text[:12] else text
    return text.split(", client:")[0][:110]


def _log_summary(logs: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in logs.splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            counts[f"(not JSON) {line[:80]}"] += 1
            continue
        if entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            counts[f"{entry.get('level')} {entry.get('message', '')[:70]} {entry.get('error_type', '')}"] += 1
    return counts


def _wait_ready(backends: list[Backend], seconds: float) -> None:
    end = time.monotonic() + seconds
    for backend in backends:
        while time.monotonic() < end:
            try:
                if requests.get(backend.probe + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("the backends did not become ready after the database came back")


def _check_production_surface(base_url: str, backend: Backend) -> None:
    """Probes and metrics on their own ports; the public port has neither /metrics nor a banner."""
    public = requests.get(base_url + "/metrics", timeout=5)
    assert public.status_code in (401, 404)
    assert "rrmm_cds" not in public.text
    metrics = requests.get(f"http://127.0.0.1:{backend.env['RRMM_CDS_METRICS_PORT']}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert requests.get(backend.probe + "/healthz", timeout=5).status_code == 200
    answer = requests.get(base_url + "/cds-services", timeout=5)
    assert answer.status_code == 401 and answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers.get("Server", "nginx") == "nginx"  # no version, no gunicorn banner
    assert answer.headers["Cache-Control"] == "no-store"
