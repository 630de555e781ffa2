"""Routing decisions: one explained decision per order, paged in decision time.

Pages are keyset-paginated on (decided_at, order_id): pass a page's `next_cursor` as `cursor`.
Analysts and channels read them.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AwareDatetime

from api.auth import Principal, Role
from api.deps import DepsDep, require
from api.errors import READ, described, not_found, unprocessable
from api.routing_schemas import RoutingDecisionPublic, RoutingPagePublic
from api.schemas import NO_CONTROL
from connectors.postgres.decisions import MAX_PAGE, Cursor

router = APIRouter(prefix="/v1/routing", tags=["routing"])
RoutingReaderDep = Annotated[Principal, Depends(require(Role.ANALYST, Role.CHANNEL))]
OrderIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f/]+$")]


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([cursor[0].isoformat(), cursor[1]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        decided_at, order_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        moment = datetime.fromisoformat(decided_at)
        if moment.tzinfo is None or not isinstance(order_id, str) or "\x00" in order_id:
            raise ValueError(text)
        return (moment, order_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        unprocessable(("query", "cursor"), "not a cursor this API gave out", "cursor_invalid")


@router.get(
    "/decisions",
    summary="Routing decisions in decision time, filtered and paginated",
    responses=described(*READ),
)
def read_decisions(
    deps: DepsDep,
    _: RoutingReaderDep,
    zone: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_CONTROL)] = None,
    since: Annotated[AwareDatetime | None, Query(description="decided_at ≥ since")] = None,
    until: Annotated[AwareDatetime | None, Query(description="decided_at < until")] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> RoutingPagePublic:
    if limit > deps.limits.max_page:
        unprocessable(("query", "limit"), f"a page holds at most {deps.limits.max_page}")
    after = None if cursor is None else decode_cursor(cursor)
    page = deps.ledger.routing_page(zone=zone, since=since, until=until, after=after, limit=limit)
    return RoutingPagePublic(
        items=[RoutingDecisionPublic.of(row) for row in page.rows],
        next_cursor=None if page.next is None else encode_cursor(page.next),
    )


@router.get(
    "/decisions/{order_id}",
    summary="One order's routing decision",
    responses=described(*READ, 404),
)
def read_decision(
    order_id: OrderIdPath, deps: DepsDep, _: RoutingReaderDep
) -> RoutingDecisionPublic:
    row = deps.ledger.routing_decision(order_id)
    if row is None:
        not_found(f"no routing decision on order {order_id} (yet)")
    return RoutingDecisionPublic.of(row)
