"""One idempotent INSERT per batch, in one transaction, retried whole on transient errors.

The decision tables (routing decisions, reorder proposals) are written the same way: each item
becomes a row, the INSERT ends in ON CONFLICT DO NOTHING (a replayed batch adds nothing), and a
transient error (connection lost, admin shutdown, serialization failure) closes the connection
and writes the batch again on a fresh one, with backoff, logged. Nothing connects until the
first write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import psycopg
from bytewax.outputs import DynamicSink
from psycopg import sql

from connectors.background import WriterPartition
from connectors.postgres.migrate import check_schema_name
from connectors.postgres.retry import Backoff, is_transient
from connectors.postgres.schema import connect_in_schema
from connectors.retry import with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")
Row = tuple[Any, ...]


class RowWriter(Generic[T]):
    """Writes batches of `T` as rows through `insert` (an idempotent INSERT statement)."""

    def __init__(
        self,
        dsn: str,
        schema: str | None,
        *,
        what: str,
        insert: sql.Composed,
        rows_of: Callable[[Sequence[T]], list[Row]],
        backoff: Backoff | None = None,
    ) -> None:
        self._dsn = dsn
        self._schema = None if schema is None else check_schema_name(schema)
        self._what = what
        self._insert = insert
        self._rows_of = rows_of
        self._backoff = backoff or Backoff()
        self._conn: psycopg.Connection | None = None

    def write(self, items: Sequence[T]) -> None:
        if not items:
            return
        rows = self._rows_of(items)
        with_retries(
            f"Writing {len(rows)} {self._what} rows",
            lambda: self._write_once(rows),
            self._backoff,
            is_transient=self._is_transient,
            on_retry=lambda _error: self.close(),  # a fresh connection for the next attempt
            logger=log,
        )

    def _write_once(self, rows: list[Row]) -> None:
        conn = self._connection()
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(self._insert, rows)

    def _is_transient(self, error: Exception) -> bool:
        return isinstance(error, psycopg.Error) and is_transient(error, self._conn)

    def _connection(self) -> psycopg.Connection:
        if self._conn is None:
            name = "skuflow-" + self._what.replace(" ", "-")
            self._conn = connect_in_schema(self._dsn, self._schema, application_name=name)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class RowSink(DynamicSink[T]):
    """A Bytewax sink: each worker writes its batches through its own `RowWriter`."""

    def __init__(
        self, make_writer: Callable[[], RowWriter[T]], *, merge_batches: bool = True
    ) -> None:
        self._make_writer = make_writer
        self._merge_batches = merge_batches  # see connectors.background: batches written as one

    def build(self, step_id: str, worker_index: int, worker_count: int) -> WriterPartition[T]:
        writer = self._make_writer()
        return WriterPartition(
            writer.write, writer.close, "row-writer", merge_batches=self._merge_batches
        )
