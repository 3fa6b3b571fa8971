"""``rrmm-cds db upgrade|current``: apply / show the store's schema migrations.

Production runs ``rrmm-cds db upgrade`` once per release (the Kubernetes migration Job) before
new replicas take traffic; the development SQLite store also migrates itself on start-up.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cds_service.config import Settings

if TYPE_CHECKING:
    from cds_service.store import Store

# Heavy modules are imported where they are used: `rrmm-cds --help` imports every command module.


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database schema migrations (feedback + audit store)")
    actions = parser.add_subparsers(dest="db_action", required=True)

    upgrade = actions.add_parser("upgrade", help="apply migrations (default: up to the latest)")
    upgrade.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    _add_database_option(upgrade)
    upgrade.set_defaults(func=run_upgrade)

    current = actions.add_parser("current", help="print the applied and the latest revision")
    _add_database_option(current)
    current.set_defaults(func=run_current)


def _add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL of the store (default: DATABASE_URL, else the development SQLite file)",
    )


def database_url_from(args: argparse.Namespace) -> str:
    return args.database_url or Settings.from_env().database_url


def open_store(args: argparse.Namespace) -> Store:
    from cds_service.store import Store

    return Store.from_url(database_url_from(args), migrate=False)


def run_upgrade(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    store = open_store(args)
    try:
        store.upgrade(args.revision)
        print(f"database at revision {store.current_revision()}")
        return 0
    except SQLAlchemyError as error:
        return _database_error("upgrade", error)
    finally:
        store.dispose()


def run_current(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.store import Store

    store = open_store(args)
    try:
        current, head = store.current_revision(), Store.head_revision()
    except SQLAlchemyError as error:
        return _database_error("current", error)
    finally:
        store.dispose()
    print(f"current: {current or '(empty database)'}")
    print(f"head:    {head}")
    return 0 if current == head else 1


def _database_error(action: str, error: Exception) -> int:
    # The error type only: driver messages can quote the database URL, password included.
    print(f"rrmm-cds db {action}: database error ({type(error).__name__})", file=sys.stderr)
    return 2
