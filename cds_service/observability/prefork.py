"""Prometheus multiprocess set-up for a pre-fork server master (gunicorn).

prometheus-client decides at import time whether it writes samples to shared files
(``PROMETHEUS_MULTIPROC_DIR`` set) or keeps them in process memory, and forked workers inherit the
master's imported modules. So the master must export the directory *before* anything imports
``prometheus_client``: this module does not import it at module level, and neither does the
``cds_service.observability`` package (its names load lazily).

Usage in a master (``rrmm-cds serve``, ``deploy/gunicorn.conf.py`` does the equivalent itself)::

    prepare_multiprocess_directory()                      # before workers start
    child_exit = lambda server, worker: mark_worker_dead(worker.pid)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_directory(directory: str | Path | None = None) -> Path:
    """Choose, create and empty the metrics directory, and export it for the workers.

    An existing ``PROMETHEUS_MULTIPROC_DIR`` wins; otherwise ``directory``, else a new temporary
    directory. Files of an earlier run are removed (they would be merged into this run's numbers).
    """
    chosen = os.environ.get(ENVIRONMENT_VARIABLE) or directory
    path = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="rrmm-cds-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[ENVIRONMENT_VARIABLE] = str(path)
    return path


def mark_worker_dead(pid: int) -> None:
    """gunicorn ``child_exit`` hook body: drop a dead worker's live-gauge files."""
    if not os.environ.get(ENVIRONMENT_VARIABLE):
        return
    from prometheus_client import multiprocess  # after the directory is exported, see above

    multiprocess.mark_process_dead(pid)
