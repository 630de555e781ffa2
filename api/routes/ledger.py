"""Analysts page through the durable ledger: by SKU, location, kind and time range.

Pages are keyset-paginated on the ledger's time order (`connectors.postgres.queries`): pass a
page's `next_cursor` as `cursor` for the next one. A cursor is opaque to clients (base64 of the
last row's key), and rows written meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import AnalystDep, DepsDep
from api.errors import READ, described, unprocessable
from api.schemas import NO_CONTROL, LedgerKind, LedgerPagePublic, LedgerRowPublic, Sku
from connectors.postgres.queries import MAX_PAGE, Cursor, LedgerRow

router = APIRouter(prefix="/v1", tags=["ledger"])

Text = Annotated[str, Query(min_length=1, max_length=128, pattern=NO_CONTROL)]


def encode_cursor(cursor: Cursor) -> str:
    occurred_at, event_id, sku, seq = cursor
    raw = json.dumps([occurred_at.isoformat(), event_id, sku, seq], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """The cursor, or a 422 saying it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        occurred_at, event_id, sku, seq = json.loads(raw)
        moment = datetime.fromisoformat(occurred_at)
        if moment.tzinfo is None or not all(
            isinstance(v, str) and "\x00" not in v for v in (event_id, sku)
        ):
            raise ValueError(text)
        return (moment, event_id, sku, int(seq))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        unprocessable(("query", "cursor"), "not a cursor this API gave out", "cursor_invalid")


def _public(row: LedgerRow) -> LedgerRowPublic:
    return LedgerRowPublic(
        event_id=row.event_id,
        sku=row.sku,
        seq=row.seq,
        kind=row.kind,
        event_type=row.event_type,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        source=row.source,
        location=row.location,
        lot=row.lot,
        order_id=row.order_id,
        reference=row.reference,
        reason_code=row.reason_code,
        message=row.message,
        deltas=None if row.deltas is None else row.deltas.as_dict(),
        resulting=None if row.resulting is None else row.resulting.as_dict(),
        detail=row.detail,
    )


@router.get(
    "/ledger",
    summary="Ledger rows in time order, filtered and paginated",
    responses=described(*READ),
)
def read_ledger(
    deps: DepsDep,
    _: AnalystDep,
    sku: Annotated[Sku | None, Query()] = None,
    location: Annotated[Text | None, Query(description="A bin path, or a site for supply.")] = None,
    kind: Annotated[LedgerKind | None, Query(description="The core's output class.")] = None,
    since: Annotated[AwareDatetime | None, Query(description="occurred_at ≥ since")] = None,
    until: Annotated[AwareDatetime | None, Query(description="occurred_at < until")] = None,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page.")] = 100,
) -> LedgerPagePublic:
    if limit > deps.limits.max_page:
        unprocessable(
            ("query", "limit"),
            f"a page holds at most {deps.limits.max_page} rows",
            "less_than_equal",
        )
    after = None if cursor is None else decode_cursor(cursor)
    page = deps.ledger.page(
        sku=sku, location=location, kind=kind, since=since, until=until, after=after, limit=limit
    )
    return LedgerPagePublic(
        items=[_public(row) for row in page.rows],
        next_cursor=None if page.next is None else encode_cursor(page.next),
    )
