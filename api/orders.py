"""Orders through the dataflow: the events the API makes, and decisions read back from the ledger.

The API never allocates. `POST /v1/orders` turns the body into an `OrderPlaced` whose id is
derived from the order id (and the `Idempotency-Key`, when given), so a retried request is the
same event: the core answers a repeated id with `Duplicate`, an order id it already holds with
`duplicate_order`, and the ledger is unique on (event_id, sku, seq). The decision is the ledger's
rows of that event: one `LineAllocated` per order line and SKU (a kit line per component), or one
`Rejected` for a SKU refused whole. `decision_of` turns them into an `OrderPublic`.

Event ids: `order:<order id>` or `order:<order id>:<16 hex of SHA-256(key)>`; cancellations
`cancel:...` alike. Order ids are at most 100 characters, so every id fits the 128 allowed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from api.ledger_reader import DecisionRow
from api.schemas import (
    LineDecisionPublic,
    OrderCreate,
    OrderPublic,
    OrderStatus,
    RejectionPublic,
    ReleasePublic,
    ReservationPublic,
)
from state.allocation import demands_for
from state.catalog import Catalog
from state.events import OrderCancelled, OrderPlaced, skus_of
from state.rejections import Rejection, RejectionCode

API_SOURCE = "api"
DUPLICATE_ORDER = RejectionCode.DUPLICATE_ORDER.value


def _event_id(kind: str, order_id: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return f"{kind}:{order_id}"
    return f"{kind}:{order_id}:{hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]}"


def placement_id(order_id: str, idempotency_key: str | None = None) -> str:
    return _event_id("order", order_id, idempotency_key)


def cancellation_id(order_id: str, idempotency_key: str | None = None) -> str:
    return _event_id("cancel", order_id, idempotency_key)


def order_event(
    order: OrderCreate, event_id: str, now: datetime, source: str = API_SOURCE
) -> OrderPlaced:
    return OrderPlaced(
        event_id=event_id,
        occurred_at=now,
        source=source,
        order_id=order.order_id,
        channel=order.channel,
        customer_tier=order.customer_tier,
        priority=order.priority,
        ship_to=order.ship_to,
        lines=tuple(order.lines),
    )


def cancel_event(
    order_id: str, skus: Sequence[str], event_id: str, now: datetime, reason: str | None
) -> OrderCancelled:
    return OrderCancelled(
        event_id=event_id,
        occurred_at=now,
        source=API_SOURCE,
        order_id=order_id,
        skus=tuple(skus),
        reason=reason,
    )


def problems_with(order: OrderPlaced, catalog: Catalog) -> list[str]:
    """What the catalog says is wrong with the order before it is sent (empty: nothing)."""
    problems: list[str] = []
    if order.channel not in catalog.channels:
        problems.append(
            f"channel {order.channel!r} is not known; channels: {sorted(catalog.channels)}"
        )
    for n, line in enumerate(order.lines):
        sku = catalog.skus.get(line.sku)
        if sku is None:
            problems.append(f"lines.{n}.sku: SKU {line.sku!r} is not in the catalog")
            continue
        if line.site is not None and line.site not in catalog.sites:
            problems.append(f"lines.{n}.site: site {line.site!r} is not known")
        if line.unit is not None:
            try:
                sku.units.factor(line.unit)
            except Rejection as refused:
                problems.append(f"lines.{n}.unit: {refused.message}")
    return problems


def expected_lines(order: OrderPlaced, catalog: Catalog) -> dict[str, int]:
    """Per SKU the order concerns, how many `LineAllocated` rows its decision will have."""
    return {
        code: len(demands_for(order, catalog.sku(code), catalog))
        for code in skus_of(order, catalog)
    }


def is_decided(rows: Iterable[DecisionRow], event_id: str, expected: dict[str, int]) -> bool:
    """Every SKU of the event has all its line outcomes, or a rejection."""
    mine = [row for row in rows if row.event_id == event_id]
    lines = Counter(row.sku for row in mine if row.kind == "LineAllocated")
    refused = {row.sku for row in mine if row.kind == "Rejected"}
    return all(sku in refused or lines[sku] >= n for sku, n in expected.items())


def placed_by(rows: Sequence[DecisionRow], order_id: str) -> str | None:
    """The id of the event whose allocation holds the order (the first one to allocate it)."""
    for row in rows:  # in time order
        if row.kind == "LineAllocated" and row.order_id == order_id:
            return row.event_id
    return None


def only_duplicates(rows: Iterable[DecisionRow], event_id: str) -> bool:
    """The event was refused for every SKU because the order id was already placed."""
    mine = [row for row in rows if row.event_id == event_id]
    return bool(mine) and all(
        row.kind == "Rejected" and row.reason_code == DUPLICATE_ORDER for row in mine
    )


def decision_of(order_id: str, event_id: str, rows: Sequence[DecisionRow]) -> OrderPublic | None:
    """The decision on `order_id` made when `event_id` was applied, with releases since."""
    mine = [row for row in rows if row.event_id == event_id]
    if not mine:
        return None
    lines = [_line(row) for row in mine if row.kind == "LineAllocated"]
    allocated_skus = {line.sku for line in lines}
    rejections = [
        RejectionPublic(sku=row.sku, code=row.reason_code or "", message=row.message or "")
        for row in mine
        if row.kind == "Rejected" and row.sku not in allocated_skus
    ]
    released = [
        ReleasePublic(
            sku=row.sku,
            quantity=int(row.detail["quantity"]),
            backorder_dropped=int(row.detail["backorder_dropped"]),
            reason=row.detail["reason"],
            event_id=row.event_id,
        )
        for row in rows
        if row.kind == "Released" and row.order_id == order_id
    ]
    allocated = sum(line.allocated for line in lines)
    backordered = sum(line.backordered for line in lines)
    rejected = sum(line.rejected for line in lines)
    return OrderPublic(
        order_id=order_id,
        status=_status(lines, rejections, released),
        event_id=event_id,
        decided_at=mine[0].occurred_at,
        allocated=allocated,
        backordered=backordered,
        rejected=rejected,
        lines=lines,
        rejections=rejections,
        released=released,
    )


def _line(row: DecisionRow) -> LineDecisionPublic:
    detail = row.detail
    return LineDecisionPublic(
        sku=row.sku,
        ordered_sku=detail["ordered_sku"],
        ordered=detail["ordered"],
        allocated=detail["allocated"],
        backordered=detail["backordered"],
        rejected=detail["rejected"],
        reservations=[ReservationPublic(**line) for line in detail["reservations"]],
    )


def _status(
    lines: Sequence[LineDecisionPublic],
    rejections: Sequence[RejectionPublic],
    released: Sequence[ReleasePublic],
) -> OrderStatus:
    if released:
        return "cancelled" if any(r.reason == "cancelled" for r in released) else "expired"
    ordered = sum(line.ordered for line in lines)
    allocated = sum(line.allocated for line in lines)
    backordered = sum(line.backordered for line in lines)
    if lines and allocated == ordered and not rejections:
        return "allocated"
    if allocated:
        return "partially_allocated"
    if backordered:
        return "backordered"
    return "rejected"
