"""The API's read-only window on the durable ledger: pages, past stock, order decisions, and
(for the dashboard) dead letters and the ledger's size.

`LedgerReader` holds a `psycopg_pool.ConnectionPool` whose connections read the ledger's schema
(`search_path`), autocommit, so a read never holds a transaction open. The pool opens on the first
read, not at construction. Pages and past stock come from `connectors.postgres.queries`; order
decisions are the ledger's `LineAllocated`, `Released` and `Rejected` rows of an order, read here
because they are the API's question (see `api.orders`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from connectors.postgres import dead_letters, queries
from connectors.postgres import decisions as routing_decisions
from connectors.postgres import forecasts as demand_forecasts
from connectors.postgres import proposals as reorder_proposals
from connectors.postgres.migrate import check_schema_name
from connectors.postgres.schema import use_schema
from state.buckets import Quantities

DECISION_KINDS = ("LineAllocated", "Released", "Rejected")

_ORDER_ROWS = sql.SQL(
    "SELECT event_id, sku, seq, kind, occurred_at, order_id, reason_code, message, detail"
    " FROM ledger"
    " WHERE (order_id = %(order_id)s AND kind = ANY(%(order_kinds)s))"
    "    OR (event_id = ANY(%(event_ids)s) AND kind = ANY(%(event_kinds)s))"
    " ORDER BY occurred_at, event_id, sku, seq"
)


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One ledger row about an order's decision; `detail` is the core's output as JSON."""

    event_id: str
    sku: str
    seq: int
    kind: str
    occurred_at: datetime
    order_id: str | None
    reason_code: str | None
    message: str | None
    detail: dict[str, Any]


class LedgerReader:
    """Reads of the ledger in `schema` through a small pool (opened on first use)."""

    def __init__(
        self,
        dsn: str,
        schema: str | None = None,
        *,
        min_size: int = 1,
        max_size: int = 16,
        timeout: float = 5.0,
    ) -> None:
        self._schema = None if schema is None else check_schema_name(schema)
        self._pool = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True, "application_name": "skuflow-api", "connect_timeout": 5},
            configure=self._configure,
            timeout=timeout,
            open=False,
            name="skuflow-api-ledger",
        )
        self._opened = False
        self._lock = threading.Lock()

    def _configure(self, conn: psycopg.Connection) -> None:
        use_schema(conn, self._schema)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        if not self._opened:
            with self._lock:
                if not self._opened:
                    self._pool.open(wait=False)
                    self._opened = True
        with self._pool.connection() as conn:
            yield conn

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self._pool.close()
                self._opened = False

    def ping(self) -> None:
        """Raises unless the ledger's tables answer."""
        with self._connection() as conn:
            conn.execute("SELECT 1 FROM ledger LIMIT 1").fetchall()

    def page(
        self,
        *,
        sku: str | None = None,
        location: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: queries.Cursor | None = None,
        limit: int = 100,
    ) -> queries.LedgerPage:
        with self._connection() as conn:
            return queries.ledger_page(
                conn,
                sku=sku,
                location=location,
                kind=kind,
                since=since,
                until=until,
                after=after,
                limit=limit,
            )

    def stock_as_of(self, sku: str, as_of: datetime) -> dict[queries.Place, Quantities]:
        with self._connection() as conn:
            return queries.stock_as_of(conn, sku, as_of)

    def decision_rows(self, order_id: str, event_ids: Sequence[str] = ()) -> list[DecisionRow]:
        """The order's allocations and releases, and every decision row of `event_ids`.

        A rejection carries no order id (the core refused the event whole), so it is found by
        the id of the event that placed or cancelled the order.
        """
        params = {
            "order_id": order_id,
            "order_kinds": ["LineAllocated", "Released"],
            "event_ids": list(event_ids),
            "event_kinds": list(DECISION_KINDS),
        }
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return [DecisionRow(**record) for record in cur.execute(_ORDER_ROWS, params)]

    def routing_decision(self, order_id: str) -> dict[str, Any] | None:
        """The order's routing decision row (`routing_decision`, migration 0004), or None."""
        with self._connection() as conn:
            return routing_decisions.decision_of(conn, order_id)

    def routing_page(self, **filters: Any) -> routing_decisions.DecisionPage:
        """A page of routing decisions, filtered as `decisions.decision_page` filters."""
        with self._connection() as conn:
            return routing_decisions.decision_page(conn, **filters)

    def dead_letter_page(
        self, *, code: str | None = None, before: int | None = None, limit: int = 50
    ) -> dead_letters.DeadLetterPage:
        with self._connection() as conn:
            return dead_letters.dead_letter_page(conn, code=code, before=before, limit=limit)

    def size(self) -> dead_letters.LedgerSize:
        """Entries in the ledger (from statistics) and dead letters per code."""
        with self._connection() as conn:
            return dead_letters.ledger_size(conn)

    def proposal(self, proposal_id: str) -> dict[str, Any] | None:
        """One reorder proposal (`reorder_proposal`, migration 0005), or None."""
        with self._connection() as conn:
            return reorder_proposals.proposal_of(conn, proposal_id)

    def proposal_page(self, **filters: Any) -> reorder_proposals.ProposalPage:
        """A page of reorder proposals, filtered as `proposals.proposal_page` filters."""
        with self._connection() as conn:
            return reorder_proposals.proposal_page(conn, **filters)

    def decide_proposal(
        self, proposal_id: str, decision: reorder_proposals.Decision
    ) -> dict[str, Any] | None:
        """A buyer's decision on a proposal: the one row the API writes. It is not stock (the
        dataflow stays the only writer of stock); an approval reaches the dataflow as the
        `PurchaseOrderPlaced` the API publishes."""
        with self._connection() as conn:
            return reorder_proposals.decide(conn, proposal_id, decision)

    def forecast_days(self, sku: str, site: str, days: int) -> list[dict[str, Any]]:
        """The newest `days` daily forecasts of the SKU at the site (`demand_forecast`, 0006)."""
        with self._connection() as conn:
            return demand_forecasts.forecast_days(conn, sku, site, days)

    def forecast_sites(self, sku: str) -> list[str]:
        """The sites at which the SKU has forecasts."""
        with self._connection() as conn:
            return demand_forecasts.forecast_sites(conn, sku)
