"""Alembic environment: always run with a connection handed in by ``cds_service.store``.

``Store.upgrade()`` (and ``rrmm-cds db upgrade``) open the transaction, put the connection in
``config.attributes["connection"]`` and call ``alembic.command.upgrade``; there is no alembic.ini
and no offline mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from cds_service.store.schema import metadata

# Any constant works; it only has to be the same in every process that migrates this database.
_MIGRATION_LOCK_KEY = 0x52524D4D  # "RRMM"

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through cds_service.store (rrmm-cds db upgrade)")

if connection.dialect.name == "postgresql":
    # Several replicas (or a Job and a replica) may start at once: serialise them so exactly one
    # applies each revision; the lock is released when the surrounding transaction ends.
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
