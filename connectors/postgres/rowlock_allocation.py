"""The common alternative to skuflow's allocation, kept for the benchmark: stock rows in PostgreSQL.

Many inventory systems allocate like this: one transaction per order that locks its SKU's stock
row (`SELECT ... FOR UPDATE`), takes what it can, decrements the row and records the
allocation, then commits. Two orders for the same SKU wait for each other's commit, which is
what makes it correct (nothing oversold: the CHECK refuses a negative row) and what limits it on
hot SKUs. Everything lives in one schema of its own, dropped by `drop()`.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg import sql

from connectors.postgres.schema import connect_in_schema, use_schema

TABLES = """
CREATE TABLE stock (
    sku text PRIMARY KEY,
    received bigint NOT NULL,
    available bigint NOT NULL CHECK (available >= 0)
);
CREATE TABLE allocation (
    order_id text PRIMARY KEY,
    sku text NOT NULL REFERENCES stock (sku),
    ordered integer NOT NULL,
    allocated integer NOT NULL CHECK (allocated >= 0 AND allocated <= ordered),
    decided_at timestamptz NOT NULL DEFAULT now()
);
"""


class RowLockAllocation:
    """Stock rows under `schema`; `allocate` is the one-transaction-per-order path."""

    def __init__(self, dsn: str, schema: str) -> None:
        self._dsn = dsn
        self._schema = schema

    def create(self, stock: Mapping[str, int]) -> None:
        """The schema, its tables and one stock row per SKU."""
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self._schema)))
            use_schema(conn, self._schema)
            conn.execute(TABLES)
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO stock (sku, received, available) VALUES (%s, %s, %s)",
                    [(sku, units, units) for sku, units in stock.items()],
                )

    def connect(self) -> psycopg.Connection:
        """One client's connection (a client is a thread: psycopg waits for the server without
        holding the GIL, so 64 threads keep 64 transactions in flight)."""
        conn = psycopg.connect(self._dsn)
        use_schema(conn, self._schema)
        conn.commit()
        return conn

    @staticmethod
    def allocate(conn: psycopg.Connection, order_id: str, sku: str, quantity: int) -> int:
        """Lock the SKU's row, take min(quantity, available), record it, commit; the units taken."""
        with conn.transaction():
            row = conn.execute(
                "SELECT available FROM stock WHERE sku = %s FOR UPDATE", (sku,)
            ).fetchone()
            if row is None:
                msg = f"no stock row for SKU {sku!r}"
                raise KeyError(msg)
            taken = min(quantity, int(row[0]))
            if taken:
                conn.execute(
                    "UPDATE stock SET available = available - %s WHERE sku = %s", (taken, sku)
                )
            conn.execute(
                "INSERT INTO allocation (order_id, sku, ordered, allocated)"
                " VALUES (%s, %s, %s, %s)",
                (order_id, sku, quantity, taken),
            )
        return taken

    def totals(self) -> dict[str, tuple[int, int, int]]:
        """Per SKU: (received, allocated by the allocation rows, available in the stock row)."""
        with connect_in_schema(self._dsn, self._schema) as conn:
            rows = conn.execute(
                "SELECT s.sku, s.received, coalesce(sum(a.allocated), 0), s.available"
                " FROM stock s LEFT JOIN allocation a USING (sku)"
                " GROUP BY s.sku, s.received, s.available"
            ).fetchall()
        return {sku: (int(received), int(taken), int(left)) for sku, received, taken, left in rows}

    def durability(self) -> dict[str, str]:
        """The server's settings that decide whether a commit is on disk when it returns."""
        found: dict[str, str] = {}
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            for name in ("synchronous_commit", "fsync"):
                row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
                found[name] = str(row[0]) if row else "unknown"
        return found

    def drop(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self._schema))
            )
