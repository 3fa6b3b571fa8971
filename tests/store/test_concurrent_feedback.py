"""Hundreds of feedback posts in parallel through the real app: every item stored exactly once.

The app runs in this process on a threaded WSGI server (werkzeug), on SQLite and on the real
PostgreSQL; clients post from a thread pool, each distinct item twice.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.serving import make_server

from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.store import Store

SERVICE = "rrmm-relapse-guidance"
DISTINCT_ITEMS = 200


def feedback_items(count: int) -> list[dict]:
    items = []
    for n in range(count):
        card = str(uuid.uuid4())
        if n % 3:
            items.append(
                {
                    "card": card,
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": str(uuid.uuid4())}],
                    "outcomeTimestamp": "2026-11-21T04:00:00Z",
                }
            )
        else:
            items.append(
                {
                    "card": card,
                    "outcome": "overridden",
                    "overrideReason": {
                        "reason": {"system": "urn:reasons", "code": f"reason-{n % 4}", "display": "Reason"},
                        "userComment": "concurrency test",
                    },
                    "outcomeTimestamp": "2026-11-21T04:00:00Z",
                }
            )
    return items


def issue_cards(store: Store, items: list[dict]) -> None:
    """Audit rows for the items' cards, as if the service had returned them (feedback is stored
    only for cards this service issued)."""
    from cds_service.store import AuditCard, AuditEntry

    store.record_audit(
        AuditEntry(service_id=SERVICE, hook_instance=str(uuid.uuid4()), patient_hash=None, kb_version=None,
                   cards=[AuditCard(item["card"], None, [], None) for item in items], duration_ms=0.0)
    )


def post_all(base_url: str, items: list[dict], workers: int = 32) -> list[int]:
    """POST each item as its own feedback message, every item twice, from ``workers`` threads."""
    submissions = items + items[::-1]

    def post(item: dict) -> int:
        with requests.Session() as session:
            response = session.post(
                f"{base_url}/cds-services/{SERVICE}/feedback", json={"feedback": [item]}, timeout=60
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(post, submissions))


@pytest.fixture
def served_app(database_url: str) -> Iterator[tuple[str, Store]]:
    store = Store.from_url(database_url, migrate=True)
    app = create_app(Settings(database_url=database_url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", store
    finally:
        server.shutdown()
        thread.join(timeout=10)
        store.dispose()


@pytest.mark.slow
def test_parallel_feedback_posts_are_stored_exactly_once(served_app: tuple[str, Store]) -> None:
    base_url, store = served_app
    items = feedback_items(DISTINCT_ITEMS)
    issue_cards(store, items)

    statuses = post_all(base_url, items)

    assert statuses == [200] * (2 * DISTINCT_ITEMS)
    report = store.feedback_report().as_dict()
    assert report["feedback_total"] == DISTINCT_ITEMS
    unknown = report["topics"]["unknown"]  # audit rows without a topic
    assert unknown["accepted"] + unknown["overridden"] == DISTINCT_ITEMS
    assert unknown["overridden"] == len([item for item in items if item["outcome"] == "overridden"])
