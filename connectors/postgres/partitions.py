"""Monthly partitions of the ledger, created on demand by the writer before it inserts a month.

`ledger` is partitioned by RANGE (occurred_at) into calendar months in UTC, `ledger_y2025m03`
holding [2025-03-01 00:00 UTC, 2025-04-01 00:00 UTC). Rows of a month without a partition land
in `ledger_default` and are never lost; when the month's partition is created later, those rows
are moved into it in the same transaction (PostgreSQL refuses to create a partition while the
default partition holds rows that belong in it).

Creating a partition takes an ACCESS EXCLUSIVE lock on `ledger` for a moment, once a month: it
runs in its own short transaction, before the batch's, with a lock timeout (a long reader
makes it fail and be retried rather than queue every writer behind it), and workers creating the
same month take turns on an advisory lock. The months known to exist are cached per writer and
added to the cache only after the creating transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import psycopg
from psycopg import sql

Month = tuple[int, int]  # (year, month)

LOCK_TIMEOUT = "5s"


def month_of(moment: datetime) -> Month:
    """The UTC calendar month of a timezone-aware time."""
    if moment.tzinfo is None:
        msg = f"ledger times must be timezone-aware, got {moment.isoformat()}"
        raise ValueError(msg)
    utc = moment.astimezone(UTC)
    return utc.year, utc.month


def bounds(month: Month) -> tuple[datetime, datetime]:
    """[first instant of the month, first instant of the next month), in UTC."""
    year, number = month
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def partition_name(month: Month) -> str:
    year, number = month
    return f"ledger_y{year:04d}m{number:02d}"


class MonthlyPartitions:
    """The months of `ledger` known to have a partition, and the DDL to add the missing ones."""

    def __init__(self) -> None:
        self._known: set[Month] = set()

    def ensure(self, conn: psycopg.Connection, months: Iterable[Month]) -> list[Month]:
        """Create the partitions missing for `months`; returns the months this call created."""
        missing = sorted(set(months) - self._known)
        if not missing:
            return []
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.ledger'))")
            created = [month for month in missing if _create(conn, month)]
        self._known.update(missing)
        return created


def _create(conn: psycopg.Connection, month: Month) -> bool:
    """Create one month's partition unless it exists, moving in its rows from the default."""
    name = partition_name(month)
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [name]).fetchone()
    if row is not None and row[0]:
        return False
    start, end = (sql.Literal(moment) for moment in bounds(month))
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE ledger_moved AS WITH moved AS ("
            " DELETE FROM ledger_default WHERE occurred_at >= {start} AND occurred_at < {end}"
            " RETURNING *) SELECT * FROM moved"
        ).format(start=start, end=end)
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE {name} PARTITION OF ledger FOR VALUES FROM ({start}) TO ({end})"
        ).format(name=sql.Identifier(name), start=start, end=end)
    )
    conn.execute("INSERT INTO ledger SELECT * FROM ledger_moved")
    conn.execute("DROP TABLE ledger_moved")
    return True
