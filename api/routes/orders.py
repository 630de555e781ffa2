"""Channels place, read and cancel orders; the dataflow decides, the ledger remembers.

`POST /v1/orders` publishes an `OrderPlaced` and waits (a bounded time) for the decision to
appear in the ledger: 201 with it, or 202 with a `Location` to poll. A retry with the same
`Idempotency-Key` (or, without one, the same order id) is the same event, so it can never
allocate twice; a retry after the decision is answered from the ledger without publishing again
(`Idempotent-Replayed: true`). Placing an order id that another request already placed is 409.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api import orders
from api.deps import ApiDeps, ChannelDep, DepsDep
from api.errors import AUTH, described, not_found, unprocessable
from api.ledger_reader import DecisionRow
from api.routing_schemas import RoutingDecisionPublic
from api.schemas import OrderCancelCreate, OrderCreate, OrderPendingPublic, OrderPublic
from state.events import Event

router = APIRouter(prefix="/v1", tags=["orders"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes a retry safe: the same key (and order) is the same event.",
    ),
]
OrderIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f/]+$")]
WRITE = (*AUTH, 400, 409, 413, 503)
PENDING = {
    "model": OrderPendingPublic,
    "description": "Accepted; the decision is not in the ledger yet: poll `Location`.",
    "headers": {"Location": {"schema": {"type": "string"}, "description": "Where to poll."}},
}
DECIDED_HEADERS = {
    "Location": {"schema": {"type": "string"}, "description": "The order's URL."},
    "Idempotent-Replayed": {
        "schema": {"type": "string"},
        "description": "`true` when the decision was already in the ledger.",
    },
}


def _location(order_id: str) -> str:
    return f"/v1/orders/{order_id}"


async def _rows(deps: ApiDeps, order_id: str, event_ids: Sequence[str]) -> list[DecisionRow]:
    return await run_in_threadpool(deps.ledger.decision_rows, order_id, event_ids)


async def _publish(deps: ApiDeps, events: Sequence[Event]) -> None:
    await run_in_threadpool(deps.publisher.publish, events)


async def _wait(
    deps: ApiDeps, order_id: str, event_id: str, done: Callable[[list[DecisionRow]], bool]
) -> list[DecisionRow] | None:
    """Poll the ledger until `done`, for at most the configured wait; None when it ran out."""
    deadline = time.monotonic() + deps.limits.order_wait_seconds
    pause = 0.02
    while True:
        rows = await _rows(deps, order_id, [event_id])
        if done(rows):
            return rows
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 1.5, 0.25)


def _pending(response_status: int, order_id: str, event_id: str) -> JSONResponse:
    body = OrderPendingPublic(order_id=order_id, event_id=event_id, location=_location(order_id))
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=response_status,
        headers={"Location": _location(order_id)},
    )


def _conflict(order_id: str) -> JSONResponse:
    return JSONResponse(
        {
            "detail": f"order {order_id} was already placed by another request; "
            f"its decision is at {_location(order_id)}"
        },
        status_code=status.HTTP_409_CONFLICT,
        headers={"Location": _location(order_id)},
    )


@router.post(
    "/orders",
    summary="Place an order; answered with its allocation once the dataflow has decided",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderPublic,
    responses={
        201: {"description": "The dataflow's decision.", "headers": DECIDED_HEADERS},
        202: PENDING,
        **described(*WRITE),
    },
)
async def place_order(
    body: OrderCreate,
    response: Response,
    deps: DepsDep,
    principal: ChannelDep,
    idempotency_key: IdempotencyKey = None,
) -> OrderPublic | JSONResponse:
    event_id = orders.placement_id(body.order_id, idempotency_key)
    try:
        event = orders.order_event(body, event_id, deps.clock(), f"api:{principal.name}")
    except ValidationError as exc:  # the request's schema is the event's; a drift is a 422
        unprocessable(("body",), f"not a valid order event: {exc.errors()[0]['msg']}")
    problems = orders.problems_with(event, deps.catalog)
    if problems:
        unprocessable(("body",), "; ".join(problems))
    expected = orders.expected_lines(event, deps.catalog)
    response.headers["Location"] = _location(body.order_id)

    known = await _rows(deps, body.order_id, [event_id])
    decided = orders.decision_of(body.order_id, event_id, known)
    if decided is not None and orders.is_decided(known, event_id, expected):
        response.headers["Idempotent-Replayed"] = "true"
        return decided
    holder = orders.placed_by(known, body.order_id)
    if holder is not None and holder != event_id:
        return _conflict(body.order_id)

    await _publish(deps, [event])
    rows = await _wait(
        deps, body.order_id, event_id, lambda r: orders.is_decided(r, event_id, expected)
    )
    if rows is None:
        return _pending(status.HTTP_202_ACCEPTED, body.order_id, event_id)
    if orders.only_duplicates(rows, event_id):
        return _conflict(body.order_id)
    decision = orders.decision_of(body.order_id, event_id, rows)
    assert decision is not None  # is_decided found rows of this event
    return decision


async def _current(deps: ApiDeps, order_id: str) -> tuple[OrderPublic, list[DecisionRow]]:
    """The order's decision as the ledger holds it now, or 404."""
    default = orders.placement_id(order_id)
    rows = await _rows(deps, order_id, [default])
    placed = orders.placed_by(rows, order_id) or default
    if placed != default:  # its rejections are found by its own event id
        rows = await _rows(deps, order_id, [placed])
    decision = orders.decision_of(order_id, placed, rows)
    if decision is None:
        not_found(f"the ledger holds no decision on order {order_id} (yet)")
    return decision, rows


@router.get(
    "/orders/{order_id}",
    summary="An order's decision, as the ledger holds it",
    responses=described(*AUTH, 404, 503),
)
async def read_order(order_id: OrderIdPath, deps: DepsDep, _: ChannelDep) -> OrderPublic:
    decision, _rows_found = await _current(deps, order_id)
    routed = await run_in_threadpool(deps.ledger.routing_decision, order_id)
    if routed is None:
        return decision
    return decision.model_copy(update={"routing": RoutingDecisionPublic.of(routed)})


@router.post(
    "/orders/{order_id}:cancel",
    summary="Cancel what is not yet picked; answered once the dataflow has released it",
    response_model=OrderPublic,
    responses={
        200: {"description": "The order, released."},
        202: PENDING,
        **described(*AUTH, 400, 404, 413, 503),
    },
)
async def cancel_order(
    order_id: OrderIdPath,
    deps: DepsDep,
    principal: ChannelDep,
    body: OrderCancelCreate | None = None,
    idempotency_key: IdempotencyKey = None,
) -> OrderPublic | JSONResponse:
    decision, _found = await _current(deps, order_id)
    skus = sorted({line.sku for line in decision.lines})
    if not skus:
        not_found(f"order {order_id} holds nothing to cancel: the dataflow refused it")
    event_id = orders.cancellation_id(order_id, idempotency_key)
    reason = body.reason if body is not None else None
    event = orders.cancel_event(order_id, skus, event_id, deps.clock(), reason)

    def released(rows: list[DecisionRow]) -> bool:
        done = {
            r.sku for r in rows if r.event_id == event_id and r.kind in ("Released", "Rejected")
        }
        return done >= set(skus)

    already = await _rows(deps, order_id, [event_id])
    if not released(already):
        await _publish(deps, [event])
        if await _wait(deps, order_id, event_id, released) is None:
            return _pending(status.HTTP_202_ACCEPTED, order_id, event_id)
    current, _rows_now = await _current(deps, order_id)
    return current
