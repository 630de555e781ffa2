"""The durable ledger's writer: what the dataflow emits, into PostgreSQL, one transaction a batch.

    PostgresLedger(dsn, schema=...).write([LedgerEntry | SkuView | DeadLetter, ...])
    PostgresLedgerSink(dsn, schema=...)   # the same, as a Bytewax DynamicSink

Every write is idempotent, because Bytewax outputs are at-least-once (a resumed run re-emits
everything since its last snapshot, and a failed write is retried whole):

- ledger entries are stored once on (event_id, sku, seq, occurred_at): COPY straight into the
  ledger, under a savepoint; a batch holding a row already stored (what a resumed run writes
  again) undoes that COPY and goes in by COPY into a temporary table, then one INSERT ...
  SELECT ... ON CONFLICT DO NOTHING. The straight COPY costs PostgreSQL 25% less CPU a row
  (12.5 against 16.6 µs on 234,080 Online Retail entries in 500-row batches, medians of 3
  alternating runs), and a batch after a restart one wasted COPY (PostgreSQL's own log shows
  it as a duplicate-key ERROR on `ledger_pkey`: expected then). The staging way, measured
  against one
  INSERT ... SELECT FROM unnest(...) per batch, on 10k and 100k real entries (28 columns, one
  of them jsonb; six indexes), COPY was 2.5 to 6 times faster: medians of 30k rows/s against
  10-13k in 1000-row batches, 60k against 11k in one batch (a shared 2-core machine). The COPY
  text is joined by `rows` and `copy_text` rather than by psycopg's `write_row` from tuples:
  17 → 10 µs of the writer thread's CPU per ledger row, views included (issue 9).
- dead letters are inserted with ON CONFLICT DO NOTHING on (origin, code);
- a SKU's view is written as absolute values: the last view of each SKU in the batch replaces
  that SKU's `current_stock` rows (positions that went to zero disappear), its `sku_supply` row
  and its `sku_atp` rows. A replayed view can never double a number. The rows go in by COPY
  into temporary tables, then statements in one round trip replace the SKUs' rows: the unnest
  arrays this used to send are dumped in pure Python by psycopg (~80 µs a view). Rows the new
  view still holds are updated in place (`INSERT ... ON CONFLICT DO UPDATE`; no indexed column
  changes, so PostgreSQL can keep the new version on the same page and prune the old one);
  only the rows it no longer holds are deleted. Deleting all of a SKU's rows and inserting them
  again left every hot SKU's old rows dead in the table and its indexes until autovacuum came,
  about once a minute. Side by side with this and the staging tables truncated more often
  (`_staging`; measured at every 10 writes, about as often as 10,000 rows at that rate;
  `bench freshness --rates 1000,5000 --no-ceiling`, 3 alternating runs, issue 9): at 5k/s
  PostgreSQL 0.37 → 0.31 cores, freshness p99 201 → 116 ms; 1k/s unchanged.

Before the batch's transaction, the months it touches get their ledger partitions
(`connectors.postgres.partitions`). Transient errors (`connectors.postgres.retry`) are logged
and the whole batch is written again, on a new connection when the old one is lost. Nothing
connects at import or construction: the connection opens on the first non-empty write. The
schema must have been migrated first (`connectors.postgres.migrate.migrate`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from connectors.background import WriterPartition
from connectors.postgres import rows
from connectors.postgres.migrate import check_schema_name
from connectors.postgres.partitions import Month, MonthlyPartitions, month_of
from connectors.postgres.retry import Backoff, is_transient
from connectors.postgres.schema import use_schema
from connectors.retry import with_retries
from state.intake import DeadLetter
from state.ledger import LedgerEntry
from state.views import SkuView

log = logging.getLogger(__name__)

LedgerItem = LedgerEntry | SkuView | DeadLetter


def _names(columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, columns))


def _unnest(table: str, columns: Sequence[str], types: Sequence[str]) -> sql.Composed:
    """INSERT INTO table (columns) SELECT * FROM unnest(%s::type[], ...): one array a column."""
    arrays = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(t)) for t in types)
    return sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({})").format(
        sql.Identifier(table), _names(columns), arrays
    )


def _staging(table: str) -> sql.Composed:
    """A session's empty copy of `table` (`<table>_in`); each write empties what it staged
    before it commits (`_emptied`).

    Not `ON COMMIT DELETE ROWS`: that truncates every such table at every commit that touched a
    temporary table, files and TOAST indexes included, and was 28% of the ledger backend's CPU
    (`perf`, 100 receipts/s: PostgreSQL at 0.20 of a core for a few hundred small writes a
    second, issue 9). A `DELETE` of the rows staged leaves them dead in the table (no vacuum
    visits a temporary table), and every later statement on it scans them again: the space is
    given back by a `TRUNCATE` once `TRUNCATE_STAGING_AFTER_ROWS` rows were staged since the last
    one. It was every 1,000 writes: at 5k receipts/s over 200 SKUs each write stages about 1,200
    view rows, so the tables held up to a million dead ones, and replacing the views took
    PostgreSQL 15 ms a write (its statement log; 10 ms once truncated every 10 writes)."""
    return sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
        sql.Identifier(f"{table}_in"), sql.Identifier(table)
    )


def _emptied(tables: Sequence[str]) -> sql.Composed:
    return sql.SQL("; ").join(
        sql.SQL("DELETE FROM {}").format(sql.Identifier(f"{table}_in")) for table in tables
    )


def _copy_in(table: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(f"{table}_in"), _names(columns))


def _insert_from_staging(
    table: str, columns: Sequence[str], *, newer_only: bool = False
) -> sql.Composed:
    """INSERT INTO table SELECT FROM its staging table; `newer_only`: only the rows of SKUs
    still in `sku_supply_in` (a view older than the stored one has been dropped from it)."""
    query = sql.SQL("INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging}").format(
        table=sql.Identifier(table),
        columns=_names(columns),
        staging=sql.Identifier(f"{table}_in"),
    )
    if newer_only:
        query += sql.SQL(" WHERE sku IN (SELECT sku FROM sku_supply_in)")
    return query


STAGED = ("ledger", "current_stock", "sku_supply", "sku_atp")
CREATE_STAGING = [_staging(table) for table in STAGED]
TRUNCATE_STAGING = sql.SQL("TRUNCATE {}").format(
    sql.SQL(", ").join(sql.Identifier(f"{table}_in") for table in STAGED)
)
TRUNCATE_STAGING_AFTER_ROWS = 10_000  # rows staged: a few writes at 5k/s, 1,000s at 100/s
EMPTY_LEDGER_STAGING = _emptied(("ledger",))
COPY_STAGING = _copy_in("ledger", rows.LEDGER_LINE_COLUMNS)
COPY_LEDGER = sql.SQL("COPY ledger ({}) FROM STDIN").format(_names(rows.LEDGER_LINE_COLUMNS))
INSERT_LEDGER = _insert_from_staging("ledger", rows.LEDGER_COLUMNS) + sql.SQL(
    " ON CONFLICT DO NOTHING"
)
INSERT_DEAD_LETTERS = _unnest("dead_letter", rows.DEAD_LETTER_COLUMNS, rows.DEAD_LETTER_TYPES)
INSERT_DEAD_LETTERS += sql.SQL(" ON CONFLICT (origin, code) DO NOTHING")
# A batch's views are copied into the staging tables, then replace their SKUs' rows in one
# round trip: the SKUs are those of `sku_supply_in` (every view has exactly one supply row),
# less those whose stored view has a higher version (a resumed run writing again what the
# crashed one had since replaced: `SkuStock.version`), which are dropped from it first.
COPY_STOCK = _copy_in("current_stock", rows.STOCK_COLUMNS)
COPY_SUPPLY = _copy_in("sku_supply", rows.SUPPLY_COLUMNS)
COPY_ATP = _copy_in("sku_atp", rows.ATP_COLUMNS)


def _vanished(table: str, key: Sequence[str]) -> sql.Composed:
    """DELETE the rows of the staged SKUs that their new view no longer holds."""
    same = sql.SQL(" AND ").join(
        sql.SQL("new.{k} = held.{k}").format(k=sql.Identifier(k)) for k in key
    )
    return sql.SQL(
        "DELETE FROM {table} AS held WHERE held.sku IN (SELECT sku FROM sku_supply_in)"
        " AND NOT EXISTS (SELECT 1 FROM {staging} AS new WHERE {same})"
    ).format(table=sql.Identifier(table), staging=sql.Identifier(f"{table}_in"), same=same)


def _upserted(
    table: str, columns: Sequence[str], key: Sequence[str], *, newer_only: bool = True
) -> sql.Composed:
    """INSERT the staged SKUs' rows, each one already stored updated in place."""
    values = [c for c in columns if c not in key]
    return _insert_from_staging(table, columns, newer_only=newer_only) + sql.SQL(
        " ON CONFLICT ({key}) DO UPDATE SET {sets}"
    ).format(
        key=_names(key),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c)) for c in values
        ),
    )


STOCK_KEY = ("sku", "location", "lot")
ATP_KEY = ("sku", "scope", "name")
REPLACE_VIEWS = sql.SQL("; ").join(
    [
        sql.SQL(
            "DELETE FROM sku_supply_in AS new USING sku_supply AS held"
            " WHERE held.sku = new.sku AND held.version > new.version"
        ),
        _vanished("current_stock", STOCK_KEY),
        _upserted("current_stock", rows.STOCK_COLUMNS, STOCK_KEY),
        _upserted("sku_supply", rows.SUPPLY_COLUMNS, ("sku",), newer_only=False),
        _vanished("sku_atp", ATP_KEY),
        _upserted("sku_atp", rows.ATP_COLUMNS, ATP_KEY),
        _emptied(("current_stock", "sku_supply", "sku_atp")),
    ]
)


@dataclass(slots=True)
class Batch:
    """One `write` call's items as COPY text, converted once however many times it is retried."""

    ledger: list[str] = field(default_factory=list)  # one line a row
    months: set[Month] = field(default_factory=set)
    dead_letters: list[rows.Row] = field(default_factory=list)
    stock: list[str] = field(default_factory=list)  # each view's lines, in SKU order
    supply: list[str] = field(default_factory=list)  # one line a SKU whose rows it replaces
    atp: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, items: Sequence[LedgerItem]) -> Batch:
        batch = cls()
        views: list[SkuView] = []
        # A batch can hold an event's first fold and, later, its redelivery (a `Duplicate` under
        # the same key: the sequencer re-sent it after a crash). ON CONFLICT DO NOTHING keeps
        # whichever row PostgreSQL meets first, and the staging table's scan order is not the
        # COPY's: the first fold's row must win, so later rows of a key are dropped here.
        keys: set[tuple[str, str, int, object]] = set()
        # An event's entries for a SKU come together and share their stamp (event, SKU, type,
        # time, source): its text and month are worked out once for all of them.
        last_stamp: tuple[object, ...] = ()
        stamp = ""
        for item in items:
            if isinstance(item, LedgerEntry):
                key = (item.event_id, item.sku, item.seq, item.occurred_at)
                if key in keys:
                    continue
                keys.add(key)
                stamped = (item.event_id, item.sku, item.event_type, item.occurred_at, item.source)
                if stamped != last_stamp:
                    last_stamp = stamped
                    stamp = rows.ledger_stamp(item)
                    batch.months.add(month_of(item.occurred_at))
                batch.ledger.append(rows.ledger_line(item, stamp))
            elif isinstance(item, SkuView):
                views.append(item)
            elif isinstance(item, DeadLetter):
                batch.dead_letters.append(rows.dead_letter_row(item))
            else:
                msg = f"the ledger stores LedgerEntry, SkuView and DeadLetter, not {item!r}"
                raise TypeError(msg)
        for view in sorted(rows.latest_views(views), key=lambda view: view.sku):
            updated_at = rows.copy_time(view.updated_at)
            batch.stock.append(rows.stock_lines(view, updated_at))
            batch.supply.append(rows.supply_line(view, updated_at))
            batch.atp.append(rows.atp_lines(view, updated_at))
        return batch

    def __bool__(self) -> bool:
        return bool(self.ledger or self.dead_letters or self.supply)


class PostgresLedger:
    """Writes batches to the ledger's tables in `schema` (the server's search_path if None)."""

    def __init__(
        self,
        dsn: str,
        schema: str | None = None,
        *,
        application_name: str = "skuflow-ledger",
        backoff: Backoff | None = None,
        connect_timeout: int = 10,
    ) -> None:
        self._dsn = dsn
        self._schema = None if schema is None else check_schema_name(schema)
        self._application_name = application_name
        self._backoff = backoff or Backoff()
        self._connect_timeout = connect_timeout
        self._conn: psycopg.Connection | None = None
        self._partitions = MonthlyPartitions()
        self._staged = 0  # rows staged on this connection since its last TRUNCATE
        self.where = _describe(dsn, self._schema)  # for logs: no user, no password

    def write(self, items: Sequence[LedgerItem]) -> None:
        """Write `items` in one transaction, retrying transient errors; see the module doc."""
        batch = Batch.of(items)
        if not batch:
            return
        with_retries(
            f"Ledger write to {self.where}",
            lambda: self._write_once(batch),
            self._backoff,
            is_transient=self._is_transient,
            on_retry=self._drop_lost_connection,
            logger=log,
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _is_transient(self, error: Exception) -> bool:
        return isinstance(error, psycopg.Error) and is_transient(error, self._conn)

    def _drop_lost_connection(self, _error: Exception) -> None:
        """A lost connection is closed, so the next attempt opens a fresh one."""
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            self.close()

    def _write_once(self, batch: Batch) -> None:
        conn = self._connection()
        self._partitions.ensure(conn, batch.months)
        with conn.transaction():
            staged = _insert_ledger(conn, batch.ledger)
            _insert_dead_letters(conn, batch.dead_letters)
            staged += _replace_views(conn, batch)
        self._staged += staged
        if self._staged >= TRUNCATE_STAGING_AFTER_ROWS:
            conn.execute(TRUNCATE_STAGING)  # the dead rows the staged rows' deletes left
            self._staged = 0

    def _connection(self) -> psycopg.Connection:
        if self._conn is None:
            self._conn = self._connect()
            self._staged = 0  # its staging tables are new
        return self._conn

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(
            self._dsn,
            autocommit=True,
            application_name=self._application_name,
            connect_timeout=self._connect_timeout,
        )
        try:
            use_schema(conn, self._schema)
            for statement in CREATE_STAGING:
                conn.execute(statement)
        except psycopg.errors.UndefinedTable as exc:
            conn.close()
            exc.add_note(f"Migrate the ledger's schema first: migrate(dsn, {self._schema!r}).")
            raise
        except BaseException:
            conn.close()
            raise
        log.info("Ledger writer connected to %s.", self.where)
        return conn


def _insert_ledger(conn: psycopg.Connection, ledger: list[str]) -> int:
    """Store the entries; return the rows staged (only for a batch holding rows stored before)."""
    if not ledger:
        return 0
    with conn.cursor() as cur:
        try:
            with conn.transaction():  # a savepoint: a row already stored undoes only this COPY
                _copy(cur, COPY_LEDGER, ledger)
            return 0
        except psycopg.errors.UniqueViolation:
            pass  # rows written before (a resumed run's): the stored ones are kept, as they were
        _copy(cur, COPY_STAGING, ledger)
        cur.execute(INSERT_LEDGER)
        cur.execute(EMPTY_LEDGER_STAGING)
        if cur.rowcount < len(ledger):
            log.debug(
                "%d of %d ledger rows were already stored.", len(ledger) - cur.rowcount, len(ledger)
            )
    return len(ledger)


def _insert_dead_letters(conn: psycopg.Connection, letters: list[rows.Row]) -> None:
    if letters:
        conn.execute(INSERT_DEAD_LETTERS, _columns(letters, len(rows.DEAD_LETTER_COLUMNS)))


def _replace_views(conn: psycopg.Connection, batch: Batch) -> int:
    """Each SKU's rows become its view's (absolute values): rows it still holds updated in
    place, rows it no longer holds deleted, new ones inserted (`REPLACE_VIEWS`); the rows staged.

    The rows go in by COPY rather than as unnest arrays, whose dumping is pure Python in
    psycopg: on the Online Retail full path that was ~80 µs a view."""
    if not batch.supply:
        return 0
    with conn.cursor() as cur:
        staged = _copy(cur, COPY_STOCK, batch.stock)
        staged += _copy(cur, COPY_SUPPLY, batch.supply)
        staged += _copy(cur, COPY_ATP, batch.atp)
        cur.execute(REPLACE_VIEWS)
    return staged


def _copy(cur: psycopg.Cursor[Any], statement: sql.Composed, lines: list[str]) -> int:
    """COPY text lines (`rows`, `copy_text`) into a table, in one write; the rows copied."""
    text = "".join(lines)
    with cur.copy(statement) as copy:
        copy.write(text)
    return text.count("\n")


def _columns(table: list[rows.Row], width: int) -> list[list[Any]]:
    """Rows turned into one list per column, for unnest."""
    return [list(column) for column in zip(*table, strict=True)] if table else [[]] * width


def _describe(dsn: str, schema: str | None) -> str:
    """`skuflow on 127.0.0.1:5432 (schema x)`: where the ledger is, without credentials."""
    params = conninfo_to_dict(dsn)
    where = f"{params.get('dbname', '?')} on {params.get('host', 'localhost')}"
    where += f":{params['port']}" if params.get("port") else ""
    return where + (f" (schema {schema})" if schema else "")


class PostgresLedgerSink(DynamicSink[LedgerItem]):
    """A Bytewax sink writing each worker's batches through its own `PostgresLedger`."""

    def __init__(
        self, dsn: str, schema: str | None = None, *, backoff: Backoff | None = None
    ) -> None:
        self._dsn = dsn
        self._schema = None if schema is None else check_schema_name(schema)
        self._backoff = backoff

    def build(
        self, step_id: str, worker_index: int, worker_count: int
    ) -> StatelessSinkPartition[LedgerItem]:
        ledger = PostgresLedger(
            self._dsn,
            schema=self._schema,
            application_name=f"skuflow-{step_id}-{worker_index}",
            backoff=self._backoff,
        )
        # Carried, not confirmed, at an epoch's end (`connectors.background`): every write here
        # is idempotent (rows unique on their key, views absolute, dead letters on their
        # origin), so a resumed run writing an epoch's unwritten items again changes nothing.
        return WriterPartition(ledger.write, ledger.close, "ledger-writer", carry=True)
