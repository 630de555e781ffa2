"""Reads of the dead letters and of the ledger's size, for the API's dashboard.

Every function takes an open connection whose search_path reaches the ledger's schema; none
writes.

- `dead_letter_page`: dead letters newest first (by `id`, the order they were recorded in), one
  keyset page at a time: pass a page's `next` as `before` for the next one. Each row carries the
  first `PREVIEW_BYTES` of its payload only; a payload is refused bytes, shown, never parsed.
- `ledger_size`: how many entries the ledger holds, from PostgreSQL's statistics (the ledger is
  insert-only, so `n_live_tup` tracks `count(*)` to within the last second of writes at O(1)
  cost, where an exact count scans every partition), and the dead letters per code (exact: the
  table is small and indexed by code).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

PREVIEW_BYTES = 1024
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    id: int
    origin: str
    received_at: datetime
    recorded_at: datetime
    code: str
    reason: str
    event_id: str | None
    preview: bytes  # the first PREVIEW_BYTES of the stored payload
    stored_size: int  # bytes kept (the first 64 KiB of the payload)
    payload_size: int  # bytes the source sent


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    rows: list[DeadLetterRow]
    next: int | None  # pass as `before` for the next page; None on the last page


@dataclass(frozen=True, slots=True)
class LedgerSize:
    entries: int  # from statistics; see the module's docstring
    dead_letters_by_code: dict[str, int]


def dead_letter_page(
    conn: psycopg.Connection, *, code: str | None = None, before: int | None = None, limit: int = 50
) -> DeadLetterPage:
    """Up to `limit` dead letters with id < `before` (all when None), newest first."""
    if not 1 <= limit <= MAX_PAGE:
        msg = f"a page holds 1 to {MAX_PAGE} dead letters, not {limit}"
        raise ValueError(msg)
    where: list[sql.Composable] = []
    params: list[object] = [PREVIEW_BYTES]
    if code is not None:
        where.append(sql.SQL("code = %s"))
        params.append(code)
    if before is not None:
        where.append(sql.SQL("id < %s"))
        params.append(before)
    query = sql.SQL(
        "SELECT id, origin, received_at, recorded_at, code, reason, event_id,"
        " substring(payload FROM 1 FOR %s), octet_length(payload), payload_size"
        " FROM dead_letter WHERE {} ORDER BY id DESC LIMIT %s"
    ).format(sql.SQL(" AND ").join(where) if where else sql.SQL("true"))
    found = [DeadLetterRow(*record) for record in conn.execute(query, [*params, limit + 1])]
    page = found[:limit]
    return DeadLetterPage(rows=page, next=page[-1].id if len(found) > limit else None)


_ENTRIES = (
    "SELECT coalesce(sum(s.n_live_tup), 0)::bigint"
    " FROM pg_partition_tree('ledger'::regclass) AS t"
    " JOIN pg_stat_user_tables AS s ON s.relid = t.relid"
    " WHERE t.isleaf"
)


def ledger_size(conn: psycopg.Connection) -> LedgerSize:
    row = conn.execute(_ENTRIES).fetchone()
    by_code = conn.execute("SELECT code, count(*) FROM dead_letter GROUP BY code ORDER BY code")
    return LedgerSize(
        entries=0 if row is None else int(row[0]),
        dead_letters_by_code={code: int(n) for code, n in by_code.fetchall()},
    )
