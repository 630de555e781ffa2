"""Devices send floor events, one or a batch; each is checked, and the valid ones are published.

The body is one event (a JSON object of the event vocabulary, `state.events`) or a JSON array of
them. Every item is validated on its own, so one bad reading never costs the batch: the answer
lists each item with `accepted` or `rejected` and its errors. Nothing is dropped silently: an
item is either in the dataflow's input (202) or in the answer with the reason it is not. When no
item is valid the answer is 422, in FastAPI's error shape with the item's index in `loc`.

Checked here, before publishing: the schema; that the event is a floor event (orders go through
`/v1/orders`); that its SKUs (or the GTIN a scan names) are in the catalog; the size the flow
accepts. What depends on stock (an over-pick, an unknown transfer) is the dataflow's to judge:
it is recorded in the ledger as a rejection.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import DepsDep, DeviceDep
from api.errors import AUTH, described, unprocessable
from api.schemas import EventItemPublic, EventsAcceptedPublic
from connectors.kafka.topics import STREAMS
from state.catalog import Catalog
from state.events import Event, parse_event, skus_of
from state.intake import MAX_EVENT_BYTES

router = APIRouter(prefix="/v1", tags=["events"])

ORDER_TYPES = frozenset(STREAMS["orders"])
EXAMPLE_EVENT = {
    "type": "ReceiptPosted",
    "event_id": "rcpt-LON-000123",
    "occurred_at": "2026-11-02T08:30:00Z",
    "source": "dock-scanner-7",
    "location": "LON/RCV/00/00/0/DOCK",
    "purchase_order_id": "PO-4411",
    "lines": [{"sku": "RETRO-CLOCK", "quantity": 24}],
}
REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {"$ref": "#/components/schemas/Event"},
                    {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Event"},
                        "minItems": 1,
                    },
                ]
            },
            "examples": {
                "one": {"summary": "One event", "value": EXAMPLE_EVENT},
                "batch": {"summary": "A batch", "value": [EXAMPLE_EVENT]},
            },
        }
    },
}


Problems = list[tuple[tuple[str | int, ...], str]]


def _check(item: Any, catalog: Catalog) -> Event | Problems:
    """The event, or where and why it is refused."""
    if not isinstance(item, dict):
        return [((), "an event is a JSON object")]
    kind = item.get("type")
    if isinstance(kind, str) and kind in ORDER_TYPES:
        return [(("type",), f"{kind} goes through /v1/orders, not /v1/events")]
    try:
        event = parse_event(item)
    except ValidationError as exc:
        return [(tuple(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
    return _problems(event, catalog) or event


def _problems(event: Event, catalog: Catalog) -> Problems:
    skus = skus_of(event, catalog)
    if not skus:
        return [((), f"{event.type} {event.event_id} names no SKU in the catalog")]
    problems: Problems = [
        ((), f"SKU {sku!r} is not in the catalog") for sku in skus if sku not in catalog.skus
    ]
    if len(event.model_dump_json()) > MAX_EVENT_BYTES:
        problems.append(((), f"the event exceeds the {MAX_EVENT_BYTES}-byte limit of the dataflow"))
    return problems


def _claimed_id(item: Any) -> str | None:
    """The id a refused item says it has, if it says one."""
    claimed = item.get("event_id") if isinstance(item, dict) else None
    return claimed if isinstance(claimed, str) else None


@router.post(
    "/events",
    summary="Send one floor event or a batch; each item is accepted or refused with reasons",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventsAcceptedPublic,
    responses=described(*AUTH, 413, 422, 503),
    openapi_extra={"requestBody": REQUEST_BODY},
)
async def post_events(
    request: Request, deps: DepsDep, _: DeviceDep
) -> EventsAcceptedPublic | JSONResponse:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        unprocessable(("body",), f"the body is not JSON: {exc}", "json_invalid")
    single = not isinstance(body, list)
    items: list[Any] = [body] if single else body
    if not items:
        unprocessable(("body",), "the batch is empty", "too_short")
    if len(items) > deps.limits.max_batch:
        unprocessable(
            ("body",),
            f"a batch holds at most {deps.limits.max_batch} events; this one has {len(items)}",
            "too_long",
        )
    checked = [_check(item, deps.catalog) for item in items]
    events = [c for c in checked if not isinstance(c, list)]
    if not events:
        where: tuple[str | int, ...] = ("body",)
        detail = [
            {
                "loc": [*where, *([] if single else [n]), *loc],
                "msg": msg,
                "type": "value_error",
            }
            for n, problems in enumerate(checked)
            if isinstance(problems, list)
            for loc, msg in problems
        ]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    await run_in_threadpool(deps.publisher.publish, events)
    for event in events:
        request.app.state.metrics.published.labels(event.type).inc()
    report = [
        EventItemPublic(index=n, event_id=c.event_id, status="accepted", errors=[])
        if not isinstance(c, list)
        else EventItemPublic(
            index=n,
            event_id=_claimed_id(items[n]),
            status="rejected",
            errors=[".".join(map(str, loc)) + f": {msg}" if loc else msg for loc, msg in c],
        )
        for n, c in enumerate(checked)
    ]
    return EventsAcceptedPublic(
        accepted=len(events), rejected=len(items) - len(events), items=report
    )
