"""Devices send floor events, one or a batch; each is checked, and the valid ones are published.

The body is one event (a JSON object of the event vocabulary, `state.events`) or a JSON array of
them. Every item is validated on its own, so one bad reading never costs the batch: the answer
lists each item with `accepted` or `rejected` and its errors. Nothing is dropped silently: an
item is either in the dataflow's input (202) or in the answer with the reason it is not. When no
item is valid the answer is 422, in FastAPI's error shape with the item's index in `loc`.

Checked here, before publishing: the schema; that the event is a floor event (orders go through
`/v1/orders`); that its SKUs (or the GTIN a scan names) are in the catalog; the size the flow
accepts; that its time is not ahead of the clock. (What the ledger could not store, such as a NUL
in text or a quantity past 10^12, the event schema itself refuses, on every path.) What depends
on stock (an over-pick, an unknown transfer) is the dataflow's to judge: it is recorded in the
ledger as a rejection.

Every refused item (and a body refused whole: not JSON, an empty or too long batch) is also
recorded in the dead-letter record with its reason code before the answer goes out
(`api.refusals`), so the device sees why at once and operations see it on the dashboard, with
the dataflow's own dead letters.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ApiDeps, DepsDep, DeviceDep
from api.errors import AUTH, described
from api.schemas import EventItemPublic, EventsAcceptedPublic
from connectors.kafka.topics import STREAMS
from state.catalog import Catalog
from state.events import Event, parse_event, skus_of
from state.intake import MAX_EVENT_BYTES, DeadLetter, DeadLetterReason, RawEvent, dead_letter

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

# Kafka (4.x, `log.message.timestamp.after.max.ms`) refuses a message stamped more than an hour
# ahead of the broker's clock, and the producer stamps each event's time: such an event would be
# a 503 at every retry. A device whose clock runs that far ahead gets a 422 that says so.
MAX_AHEAD = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Refused:
    """Why an item is not published: the dead-letter reason code and each problem."""

    code: DeadLetterReason
    problems: Problems


def _check(item: Any, catalog: Catalog, now: datetime) -> Event | Refused:
    """The event, or why it is refused."""
    if not isinstance(item, dict):
        return Refused(DeadLetterReason.INVALID_EVENT, [((), "an event is a JSON object")])
    kind = item.get("type")
    if isinstance(kind, str) and kind in ORDER_TYPES:
        problem = (("type",), f"{kind} goes through /v1/orders, not /v1/events")
        return Refused(DeadLetterReason.INVALID_EVENT, [problem])
    try:
        event = parse_event(item)
    except ValidationError as exc:
        problems: Problems = [(tuple(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        return Refused(DeadLetterReason.INVALID_EVENT, problems)
    return _problems(event, item, catalog, now) or event


def _problems(
    event: Event, item: dict[str, Any], catalog: Catalog, now: datetime
) -> Refused | None:
    if event.occurred_at - now > MAX_AHEAD:
        ahead = f"more than {MAX_AHEAD} ahead of the server's clock ({now.isoformat()})"
        return Refused(DeadLetterReason.INVALID_EVENT, [(("occurred_at",), ahead)])
    if len(event.model_dump_json()) > MAX_EVENT_BYTES:
        limit = f"the event exceeds the {MAX_EVENT_BYTES}-byte limit of the dataflow"
        return Refused(DeadLetterReason.OVERSIZED, [((), limit)])
    skus = skus_of(event, catalog)
    if not skus:
        return Refused(
            DeadLetterReason.UNRESOLVED_SKU,
            [((), f"{event.type} {event.event_id} names no SKU in the catalog")],
        )
    unknown: Problems = [
        ((), f"SKU {sku!r} is not in the catalog") for sku in skus if sku not in catalog.skus
    ]
    return Refused(DeadLetterReason.UNRESOLVED_SKU, unknown) if unknown else None


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
    body_bytes = await request.body()
    refusal = Refusals(deps.clock(), f"api/{uuid.uuid4().hex}")
    try:
        body = json.loads(body_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        reason = f"the body is not JSON: {exc}"
        await refusal.record(deps, [refusal.whole(body_bytes, DeadLetterReason.NOT_JSON, reason)])
        return _unprocessable([{"loc": ["body"], "msg": reason, "type": "json_invalid"}])
    single = not isinstance(body, list)
    items: list[Any] = [body] if single else body
    whole = None
    if not items:
        whole = ("the batch is empty", "too_short")
    elif len(items) > deps.limits.max_batch:
        limit = deps.limits.max_batch
        whole = (f"a batch holds at most {limit} events; this one has {len(items)}", "too_long")
    if whole is not None:
        letter = refusal.whole(body_bytes, DeadLetterReason.INVALID_EVENT, whole[0])
        await refusal.record(deps, [letter])
        return _unprocessable([{"loc": ["body"], "msg": whole[0], "type": whole[1]}])
    checked = [_check(item, deps.catalog, refusal.received_at) for item in items]
    events = [c for c in checked if not isinstance(c, Refused)]
    letters = [
        refusal.item(n, items[n], c) for n, c in enumerate(checked) if isinstance(c, Refused)
    ]
    if letters:
        await refusal.record(deps, letters)
    if not events:
        where: tuple[str | int, ...] = ("body",)
        return _unprocessable(
            [
                {
                    "loc": [*where, *([] if single else [n]), *loc],
                    "msg": msg,
                    "type": "value_error",
                }
                for n, refused in enumerate(checked)
                if isinstance(refused, Refused)
                for loc, msg in refused.problems
            ]
        )
    await run_in_threadpool(deps.publisher.publish, events)
    for event in events:
        request.app.state.metrics.published.labels(event.type).inc()
    report = [
        EventItemPublic(index=n, event_id=c.event_id, status="accepted", errors=[])
        if not isinstance(c, Refused)
        else EventItemPublic(
            index=n,
            event_id=_claimed_id(items[n]),
            status="rejected",
            errors=[
                ".".join(map(str, loc)) + f": {msg}" if loc else msg for loc, msg in c.problems
            ],
        )
        for n, c in enumerate(checked)
    ]
    return EventsAcceptedPublic(
        accepted=len(events), rejected=len(items) - len(events), items=report
    )


def _unprocessable(detail: list[dict[str, Any]]) -> JSONResponse:
    """422 in FastAPI's error shape."""
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


@dataclass(frozen=True, slots=True)
class Refusals:
    """One request's refusals as dead letters: `origin` is `api/<request id>[/<index>]`."""

    received_at: datetime
    origin: str

    def whole(self, body: bytes, code: DeadLetterReason, reason: str) -> DeadLetter:
        return dead_letter(RawEvent(body, self.origin, self.received_at), code, reason)

    def item(self, index: int, item: Any, refused: Refused) -> DeadLetter:
        payload = json.dumps(item, ensure_ascii=False).encode(errors="replace")
        raw = RawEvent(payload, f"{self.origin}/{index}", self.received_at)
        reason = "; ".join(
            ".".join(map(str, loc)) + f": {msg}" if loc else msg for loc, msg in refused.problems
        )
        return dead_letter(raw, refused.code, reason, _claimed_id(item))

    async def record(self, deps: ApiDeps, letters: list[DeadLetter]) -> None:
        """In the dead-letter record before the answer; a ledger that fails makes it a 503."""
        await run_in_threadpool(deps.refusals.record, letters)
