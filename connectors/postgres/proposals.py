"""Reorder proposals in PostgreSQL: written by the dataflow, read and decided through the API.

    ReorderProposalSink(dsn, schema)       # Bytewax sink: ReorderProposed -> reorder_proposal
    proposal_of(conn, proposal_id)          # one proposal, or None
    proposal_page(conn, status=..., sku=..., site=..., after=..., limit=...)
    decide(conn, proposal_id, Decision(...)) # proposed -> approved / rejected, once

Writes are idempotent (migration 0005: keyed by proposal id, ON CONFLICT DO NOTHING, so a
replayed proposal never overwrites a buyer's decision), one transaction a batch, retried whole
on transient errors on a fresh connection. Nothing connects at construction. Pages are
keyset-paginated on (proposed_at, proposal_id).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from connectors.postgres.retry import Backoff
from connectors.postgres.row_writer import RowSink, RowWriter
from state.demand.proposals import ReorderProposed

log = logging.getLogger(__name__)

Status = Literal["proposed", "approved", "rejected"]
COLUMNS = (
    "proposal_id",
    "sku",
    "site",
    "supplier",
    "proposed_at",
    "quantity",
    "reorder_point",
    "position",
    "reasoning",
)
INSERT = sql.SQL("INSERT INTO reorder_proposal ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
    sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
    sql.SQL(", ").join(sql.Placeholder() * len(COLUMNS)),
)
MAX_PAGE = 1000
Cursor = tuple[datetime, str]  # (proposed_at, proposal_id)


def proposal_document(proposal: ReorderProposed) -> dict[str, Any]:
    """The proposal as JSON-ready values (times as ISO 8601)."""
    document = dataclasses.asdict(proposal)
    document["proposed_at"] = proposal.proposed_at.isoformat()
    return document


def proposal_json(proposal: ReorderProposed) -> str:
    return json.dumps(proposal_document(proposal), separators=(",", ":"), ensure_ascii=False)


def proposal_row(proposal: ReorderProposed) -> tuple[Any, ...]:
    return (
        proposal.proposal_id,
        proposal.sku,
        proposal.site,
        proposal.supplier,
        proposal.proposed_at,
        proposal.quantity,
        proposal.reorder_point,
        proposal.position,
        Jsonb(proposal, dumps=proposal_json),
    )


def _proposal_rows(proposals: Sequence[ReorderProposed]) -> list[tuple[Any, ...]]:
    first: dict[str, ReorderProposed] = {}  # one row per id: the first, as the table keeps
    for proposal in proposals:
        first.setdefault(proposal.proposal_id, proposal)
    return [proposal_row(p) for p in first.values()]


class ReorderProposalWriter(RowWriter[ReorderProposed]):
    def __init__(
        self, dsn: str, schema: str | None = None, *, backoff: Backoff | None = None
    ) -> None:
        super().__init__(
            dsn,
            schema,
            what="reorder proposals",
            insert=INSERT,
            rows_of=_proposal_rows,
            backoff=backoff,
        )


class ReorderProposalSink(RowSink[ReorderProposed]):
    def __init__(self, dsn: str, schema: str | None = None) -> None:
        super().__init__(lambda: ReorderProposalWriter(dsn, schema))


# ---- reads and decisions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProposalPage:
    rows: list[dict[str, Any]]
    next: Cursor | None


def proposal_of(conn: psycopg.Connection, proposal_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM reorder_proposal WHERE proposal_id = %s", [proposal_id])
        return cur.fetchone()


def proposal_page(
    conn: psycopg.Connection,
    *,
    status: Status | None = None,
    sku: str | None = None,
    site: str | None = None,
    after: Cursor | None = None,
    limit: int = 100,
) -> ProposalPage:
    """Up to `limit` proposals matching the filters, after `after`, oldest first."""
    if not 1 <= limit <= MAX_PAGE:
        msg = f"a page holds 1 to {MAX_PAGE} proposals, not {limit}"
        raise ValueError(msg)
    where: list[sql.Composable] = []
    params: list[object] = []
    for clause, value in (("status = %s", status), ("sku = %s", sku), ("site = %s", site)):
        if value is not None:
            where.append(sql.SQL(clause))
            params.append(value)
    if after is not None:
        where.append(sql.SQL("(proposed_at, proposal_id) > (%s, %s)"))
        params.extend(after)
    query = sql.SQL(
        "SELECT * FROM reorder_proposal WHERE {} ORDER BY proposed_at, proposal_id LIMIT %s"
    ).format(sql.SQL(" AND ").join(where) if where else sql.SQL("true"))
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(query, [*params, limit + 1]).fetchall()
    page = found[:limit]
    last = page[-1] if len(found) > limit else None
    return ProposalPage(page, None if last is None else (last["proposed_at"], last["proposal_id"]))


@dataclass(frozen=True, slots=True)
class Decision:
    status: Literal["approved", "rejected"]
    decided_at: datetime
    decided_by: str
    note: str | None = None
    purchase_order_id: str | None = None  # required to approve


DECIDE = sql.SQL(
    "UPDATE reorder_proposal SET status = %s, decided_at = %s, decided_by = %s,"
    " decision_note = %s, purchase_order_id = %s"
    " WHERE proposal_id = %s AND status = 'proposed' RETURNING *"
)


def decide(conn: psycopg.Connection, proposal_id: str, decision: Decision) -> dict[str, Any] | None:
    """Move a proposed proposal to the decision's status; returns the row as it now stands.

    Only a proposal still 'proposed' changes: deciding again returns the row unchanged (the
    caller compares its status), and an unknown id returns None.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        changed = cur.execute(
            DECIDE,
            [
                decision.status,
                decision.decided_at,
                decision.decided_by,
                decision.note,
                decision.purchase_order_id,
                proposal_id,
            ],
        ).fetchone()
    return changed if changed is not None else proposal_of(conn, proposal_id)
