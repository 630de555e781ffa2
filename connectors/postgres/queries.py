"""Reads of the durable ledger, for the API and `skuflow verify`.

Every function takes an open connection whose search_path reaches the ledger's schema; none
writes. Quantities are base units; a place is (location, lot), lot '' when there is none.

- `ledger_page`: ledger rows in time order, filtered, one page at a time. Keyset pagination on
  (occurred_at, event_id, sku, seq), the ledger's key in time order: a page starts strictly
  after the last row of the previous one, so rows written meanwhile never shift a page and no
  row is skipped or repeated.
- `stock_as_of`: a SKU's on-hand buckets per position at a past time, rebuilt from the sum of
  its Movement deltas with occurred_at <= as_of (what is known now about what had happened by
  then: a movement that arrived late counts at the time it occurred).
- `current_stock`: the positions of a SKU as the live view last wrote them.
- `movement_totals`: the sum of every Movement's deltas per (sku, location, lot); for each
  position it must equal `current_stock`, which is how `skuflow verify` checks the two.
- `counts`: how much the ledger holds: distinct events, rows, rows by kind, dead letters by code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from state.buckets import ALL_BUCKETS, ON_HAND_BUCKETS, Quantities

Place = tuple[str, str]  # (location, lot)
Cursor = tuple[datetime, str, str, int]  # (occurred_at, event_id, sku, seq)
MAX_PAGE = 1000

_DELTA_SUMS = sql.SQL(", ").join(
    sql.SQL("coalesce(sum({}), 0)::bigint").format(sql.Identifier(f"delta_{bucket}"))
    for bucket in ALL_BUCKETS
)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One ledger row. `deltas` and `resulting` are set on Movements only."""

    event_id: str
    sku: str
    seq: int
    kind: str
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    source: str
    location: str | None
    lot: str | None
    order_id: str | None
    reference: str | None
    reason_code: str | None
    message: str | None
    deltas: Quantities | None
    resulting: Quantities | None
    detail: dict[str, Any]

    @property
    def cursor(self) -> Cursor:
        return (self.occurred_at, self.event_id, self.sku, self.seq)


@dataclass(frozen=True, slots=True)
class LedgerPage:
    rows: list[LedgerRow]
    next: Cursor | None  # pass as `after` for the next page; None on the last page


def ledger_page(
    conn: psycopg.Connection,
    *,
    sku: str | None = None,
    location: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: Cursor | None = None,
    limit: int = 100,
) -> LedgerPage:
    """Up to `limit` rows with since <= occurred_at < until, after the cursor `after`."""
    if not 1 <= limit <= MAX_PAGE:
        msg = f"a page holds 1 to {MAX_PAGE} rows, not {limit}"
        raise ValueError(msg)
    where, params = _filters(sku=sku, location=location, kind=kind, since=since, until=until)
    if after is not None:
        # The redundant bound on occurred_at lets an index on (x, occurred_at) start at the cursor.
        where.append(
            sql.SQL("occurred_at >= %s AND (occurred_at, event_id, sku, seq) > (%s, %s, %s, %s)")
        )
        params.extend([after[0], *after])
    query = sql.SQL(
        "SELECT * FROM ledger WHERE {} ORDER BY occurred_at, event_id, sku, seq LIMIT %s"
    ).format(sql.SQL(" AND ").join(where) if where else sql.SQL("true"))
    with conn.cursor(row_factory=dict_row) as cur:
        found = [_ledger_row(record) for record in cur.execute(query, [*params, limit + 1])]
    page = found[:limit]
    return LedgerPage(rows=page, next=page[-1].cursor if len(found) > limit else None)


def _filters(**wanted: object) -> tuple[list[sql.Composable], list[object]]:
    bounds = {"since": "occurred_at >= %s", "until": "occurred_at < %s"}
    where: list[sql.Composable] = []
    params: list[object] = []
    for name, value in wanted.items():
        if value is None:
            continue
        if name in bounds:
            where.append(sql.SQL(bounds[name]))
        else:
            where.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
        params.append(value)
    return where, params


def _ledger_row(record: dict[str, Any]) -> LedgerRow:
    is_movement = record["kind"] == "Movement"
    deltas = Quantities(*(record[f"delta_{b}"] for b in ALL_BUCKETS)) if is_movement else None
    resulting = (
        Quantities(*(record[f"resulting_{b}"] for b in ALL_BUCKETS)) if is_movement else None
    )
    plain = {
        name: record[name]
        for name in LedgerRow.__dataclass_fields__
        if name not in ("deltas", "resulting")
    }
    return LedgerRow(**plain, deltas=deltas, resulting=resulting)


def stock_as_of(conn: psycopg.Connection, sku: str, as_of: datetime) -> dict[Place, Quantities]:
    """On-hand buckets per position of `sku` at `as_of`; positions holding nothing are left out."""
    query = sql.SQL(
        "SELECT location, lot, {} FROM ledger WHERE kind = 'Movement' AND sku = %s"
        " AND occurred_at <= %s GROUP BY location, lot"
    ).format(_DELTA_SUMS)
    found: dict[Place, Quantities] = {}
    for location, lot, *sums in conn.execute(query, [sku, as_of]):
        on_hand = _on_hand_only(Quantities(*sums))
        if on_hand:
            found[(location, lot)] = on_hand
    return found


def _on_hand_only(quantities: Quantities) -> Quantities:
    """In-transit and on-order supply is kept at sites, not at positions."""
    return Quantities(*(getattr(quantities, bucket) for bucket in ON_HAND_BUCKETS))


def current_stock(conn: psycopg.Connection, sku: str) -> dict[Place, Quantities]:
    query = sql.SQL("SELECT location, lot, {} FROM current_stock WHERE sku = %s").format(
        sql.SQL(", ").join(map(sql.Identifier, ON_HAND_BUCKETS))
    )
    return {
        (location, lot): Quantities(*buckets)
        for location, lot, *buckets in conn.execute(query, [sku])
    }


def movement_totals(conn: psycopg.Connection) -> dict[tuple[str, str, str], Quantities]:
    """Σ deltas of every Movement per (sku, location, lot); places summing to zero are left out."""
    query = sql.SQL(
        "SELECT sku, location, lot, {} FROM ledger WHERE kind = 'Movement'"
        " GROUP BY sku, location, lot"
    ).format(_DELTA_SUMS)
    totals = {
        (sku, location, lot): Quantities(*sums) for sku, location, lot, *sums in conn.execute(query)
    }
    return {place: quantities for place, quantities in totals.items() if quantities}


class LedgerCounts(TypedDict):
    events: int  # distinct event ids
    rows: int
    rows_by_kind: dict[str, int]
    dead_letters_by_code: dict[str, int]


def counts(conn: psycopg.Connection) -> LedgerCounts:
    row = conn.execute("SELECT count(DISTINCT event_id), count(*) FROM ledger").fetchone()
    events, total = row if row is not None else (0, 0)
    by_kind = conn.execute("SELECT kind, count(*) FROM ledger GROUP BY kind ORDER BY kind")
    by_code = conn.execute("SELECT code, count(*) FROM dead_letter GROUP BY code ORDER BY code")
    return LedgerCounts(
        events=events,
        rows=total,
        rows_by_kind=dict(by_kind.fetchall()),
        dead_letters_by_code=dict(by_code.fetchall()),
    )
