"""The audit row of one hook response, written on the pooled DBAPI connection.

Every answered hook call writes one row (and one per card) before the answer leaves, so this runs
on every call. SQLAlchemy's execution layer costs about five times what SQLite itself spends on
the two INSERTs; the statements are compiled for the engine's dialect once, here, and executed
on the driver's cursor. What SQLAlchemy would do is kept: the columns' bind processors (the
store's UTC timestamps), the pool (with its pre-ping and reset), ``BEGIN IMMEDIATE`` on SQLite
(the engine's own ``begin`` hook issues it for Core transactions), invalidating a connection the
database dropped, and driver errors raised as SQLAlchemy's (``DataError`` stays a 400 upstream).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, Table, insert
from sqlalchemy.exc import DBAPIError

_Row = Mapping[str, Any]


class _Statement:
    """One INSERT compiled for a dialect: its SQL, and how a row of values becomes parameters."""

    def __init__(self, engine: Engine, table: Table, columns: Sequence[str], *, returning: str | None = None) -> None:
        dialect = engine.dialect
        statement = insert(table)
        if returning is not None:
            statement = statement.returning(table.c[returning])
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        self.sql = compiled.string
        order = list(compiled.positiontup) if compiled.positional and compiled.positiontup else list(columns)
        self._positional = bool(compiled.positional)
        self._order = order
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name in columns:
            processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors[name] = processor

    def parameters(self, row: _Row) -> tuple[Any, ...] | dict[str, Any]:
        processors = self._processors
        values = {name: (processors[name](value) if name in processors else value) for name, value in row.items()}
        return tuple(values[name] for name in self._order) if self._positional else values


class AuditWriter:
    """``write(response_row, card_rows)``: one transaction, committed before it returns."""

    def __init__(self, engine: Engine, response_table: Table, card_table: Table,
                 response_columns: Sequence[str], card_columns: Sequence[str]) -> None:
        self.engine = engine
        self._dialect = engine.dialect
        self._begin = "BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else None
        self._response = _Statement(engine, response_table, response_columns, returning="id")
        self._card = _Statement(engine, card_table, card_columns)
        self._card_columns = tuple(card_columns)

    def write(self, response: _Row, cards: Sequence[_Row], *, response_id_column: str = "response_id") -> int:
        """Insert the response row and its card rows; returns the response row's id."""
        connection = self.engine.raw_connection()
        cursor = None
        statement, parameters = self._response.sql, None
        try:
            cursor = connection.cursor()
            if self._begin is not None:
                statement = self._begin
                cursor.execute(statement)
            statement, parameters = self._response.sql, self._response.parameters(response)
            cursor.execute(statement, parameters)
            response_id = int(cursor.fetchone()[0])
            if cards:
                statement = self._card.sql
                parameters = [self._card.parameters({**card, response_id_column: response_id}) for card in cards]
                cursor.executemany(statement, parameters)
            statement, parameters = "COMMIT", None
            connection.commit()
            return response_id
        except self._dialect.loaded_dbapi.Error as error:
            self._discard(connection, cursor, error)
            # Parameters hidden: they hold the patient hash and hook instance.
            raise DBAPIError.instance(statement, parameters, error, self._dialect.loaded_dbapi.Error,
                                      hide_parameters=True, dialect=self._dialect) from error
        except BaseException:
            self._discard(connection, cursor, None)
            raise
        finally:
            if cursor is not None:
                with contextlib.suppress(self._dialect.loaded_dbapi.Error):
                    cursor.close()
            connection.close()  # back to the pool (or dropped, when invalidated below)

    def _discard(self, connection: Any, cursor: Any, error: BaseException | None) -> None:
        """Roll back; a connection the database dropped is invalidated, not pooled again."""
        if error is not None and self._dialect.is_disconnect(error, connection.dbapi_connection, cursor):
            connection.invalidate(error)
            return
        try:
            connection.rollback()
        except self._dialect.loaded_dbapi.Error as rollback_error:
            connection.invalidate(rollback_error)
