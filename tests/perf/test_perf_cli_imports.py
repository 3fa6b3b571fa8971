"""`rrmm-cds --help` builds every subcommand's parser without importing the heavy modules (the
store's SQLAlchemy, gunicorn, requests, the pipeline and the knowledge base): those load when a
command runs."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "gunicorn", "requests", "cds_service.pipeline", "clinical_rules.kb", "alembic")


def test_help_imports_no_heavy_module() -> None:
    probe = (
        "import sys\n"
        "from cds_service.cli import build_parser\n"
        "parser = build_parser()\n"
        "assert {'serve', 'call', 'db', 'kb', 'fixtures', 'report'} <= set(parser._subparsers._group_actions[0].choices)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""


def test_the_commands_still_run(tmp_path) -> None:
    from cds_service.cli import main

    assert main(["db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'store.sqlite3'}"]) == 0
    assert main(["db", "current", "--database-url", f"sqlite:///{tmp_path / 'store.sqlite3'}"]) == 0
