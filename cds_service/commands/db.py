"""``rrmm-cds db upgrade|current``: apply / show the store's schema migrations.

Production runs ``rrmm-cds db upgrade`` once per release (the Kubernetes migration Job) before
new replicas take traffic; the development SQLite store also migrates itself on start-up.
Every misuse (unknown revision, a URL that is not one, a server that refuses, a SQLite file in a
directory that does not exist) is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cds_service.commands._arguments import database_url
from cds_service.config import Settings


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
        type=database_url,
        default=None,
        help="SQLAlchemy URL of the store (default: DATABASE_URL, else the development SQLite file)",
    )


def database_url_from(args: argparse.Namespace) -> str:
    return args.database_url or Settings.from_env().database_url


class DatabaseProblem(Exception):
    """A one-line reason the store cannot be used (printed by the command, no traceback)."""


def open_store(url: str, *, create_directory: bool = False) -> Any:
    """The store at ``url`` without migrating it; DatabaseProblem for a URL or path that cannot work."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from cds_service.store import Store
    from cds_service.store.engine import normalise_database_url

    try:
        parsed = make_url(normalise_database_url(url))
    except ArgumentError:
        raise DatabaseProblem("not a database URL (expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB)") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        directory = Path(parsed.database).expanduser().resolve().parent
        if not create_directory and not directory.is_dir():
            raise DatabaseProblem(
                f"the SQLite file's directory {directory} does not exist: create it, then run `rrmm-cds db upgrade`"
            )
    try:
        return Store.from_url(url, migrate=False)
    except ArgumentError as error:
        raise DatabaseProblem(f"unusable database URL ({error.__class__.__name__})") from None
    except ImportError as error:
        raise DatabaseProblem(f"no driver for this database URL ({error.name})") from None


def describe_database_error(url: str, error: BaseException) -> str:
    """Where and why, without the driver's text (it can quote the URL, password included)."""
    from sqlalchemy.engine import make_url

    from cds_service.store.engine import normalise_database_url

    try:
        parsed = make_url(normalise_database_url(url))
    except Exception:  # the URL was checked before; be safe anyway
        return f"database error ({type(error).__name__})"
    if parsed.get_backend_name() == "sqlite":
        where = f"SQLite file {parsed.database}"
    else:
        where = f"{parsed.get_backend_name()} at {parsed.host or 'localhost'}:{parsed.port or 5432}"
        if parsed.database:
            where += f" (database {parsed.database!r})"
    text = str(getattr(error, "orig", None) or error).lower()
    reasons = [
        ("connection refused", "connection refused: is the server running and listening there?"),
        ("timeout", "connection timed out"),
        ("timed out", "connection timed out"),
        ("could not translate host name", "unknown host name"),
        ("name or service not known", "unknown host name"),
        ("password authentication failed", "authentication failed (user or password)"),
        ("does not exist", "the database or role does not exist"),
        ("unable to open database file", "cannot open the file"),
        ("readonly database", "the file is read-only"),
    ]
    reason = next((why for needle, why in reasons if needle in text), type(error).__name__)
    return f"cannot use {where}: {reason}"


def run_upgrade(args: argparse.Namespace) -> int:
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    url = database_url_from(args)
    try:
        store = open_store(url)
    except DatabaseProblem as problem:
        return _fail("upgrade", str(problem))
    try:
        store.upgrade(args.revision)
        print(f"database at revision {store.current_revision()}")
        return 0
    except CommandError:
        return _fail("upgrade", f"unknown revision {args.revision!r} (latest: {store.head_revision()}, or 'head')")
    except SQLAlchemyError as error:
        return _fail("upgrade", describe_database_error(url, error))
    finally:
        store.dispose()


def run_current(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    url = database_url_from(args)
    try:
        store = open_store(url)
    except DatabaseProblem as problem:
        return _fail("current", str(problem))
    try:
        current, head = store.current_revision(), store.head_revision()
    except SQLAlchemyError as error:
        return _fail("current", describe_database_error(url, error))
    finally:
        store.dispose()
    print(f"current: {current or '(empty database)'}")
    print(f"head:    {head}")
    return 0 if current == head else 1


def _fail(action: str, message: str) -> int:
    print(f"rrmm-cds db {action}: {message}", file=sys.stderr)
    return 2
