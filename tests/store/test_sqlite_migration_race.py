"""Several processes opening one fresh SQLite store at once (gunicorn workers) all get a migrated store."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cds_service.store import Store

PROCESSES = 6


def _open(url: str, start: multiprocessing.synchronize.Event, results: multiprocessing.Queue) -> None:
    start.wait(10)
    try:
        store = Store.from_url(url)
        results.put(("ok", store.current_revision()))
        store.dispose()
    except Exception as error:  # reported to the parent, which fails the test
        results.put(("error", f"{type(error).__name__}: {error}"))


def test_concurrent_first_opens_migrate_once_without_errors(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for attempt in range(3):  # a race: several fresh stores give it several chances to show
        url = f"sqlite:///{tmp_path / f'fresh-{attempt}' / 'store.sqlite3'}"
        start, results = context.Event(), context.Queue()
        workers = [context.Process(target=_open, args=(url, start, results)) for _ in range(PROCESSES)]
        for worker in workers:
            worker.start()
        start.set()
        outcomes = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(30)
        assert [kind for kind, _ in outcomes] == ["ok"] * PROCESSES, outcomes
        assert {revision for _, revision in outcomes} == {Store.head_revision()}
