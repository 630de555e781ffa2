"""Reorder proposals for buyers: read them, approve them into purchase orders, or reject them.

- `GET /v1/proposals`: proposals oldest first, filtered by status, SKU and site, keyset-paginated
  on (proposed_at, proposal_id): pass a page's `next_cursor` as `cursor`.
- `POST /v1/proposals/{id}:approve`: marks it approved (once: a proposal is decided only while
  'proposed') and publishes a `PurchaseOrderPlaced` for its SKU, site, supplier and quantity
  through the app's publisher, so the order reaches the dataflow like any other event. The
  purchase order's ids derive from the proposal's, so approving again publishes the same event
  (the core answers a repeated id with `Duplicate`) and answers `Idempotent-Replayed: true`; a
  retry after a failed publish publishes it then. Approving a rejected proposal is 409.
- `POST /v1/proposals/{id}:reject`: marks it rejected; again is a no-op; an approved one is 409.

Only buyers (and admins) may call these.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, Role
from api.deps import ApiDeps, DepsDep, require
from api.errors import AUTH, READ, described, not_found, unprocessable
from api.proposal_schemas import (
    ProposalDecisionCreate,
    ProposalPagePublic,
    ProposalPublic,
    ProposalStatus,
)
from api.schemas import NO_CONTROL
from connectors.postgres.proposals import MAX_PAGE, Cursor, Decision
from state.events import PurchaseOrderLine, PurchaseOrderPlaced

router = APIRouter(prefix="/v1", tags=["proposals"])
BuyerDep = Annotated[Principal, Depends(require(Role.BUYER))]
ProposalIdPath = Annotated[str, Path(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f/]+$")]
SOURCE = "api"
log = logging.getLogger(__name__)


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([cursor[0].isoformat(), cursor[1]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        at, proposal_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not isinstance(proposal_id, str) or "\x00" in proposal_id:
            raise ValueError(text)
        return (moment, proposal_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        unprocessable(("query", "cursor"), "not a cursor this API gave out", "cursor_invalid")


def purchase_order_id(proposal_id: str) -> str:
    """`PO-<16 hex of SHA-256(proposal id)>`: the same proposal always names the same order."""
    return "PO-" + hashlib.sha256(proposal_id.encode()).hexdigest()[:16]


def purchase_order_event(
    row: dict[str, Any], newest_event_at: datetime | None = None
) -> PurchaseOrderPlaced:
    """The purchase order an approved proposal becomes, expected after the learnt lead time.

    It is placed at the decision time on the engine's clock, which is event time: live, that is
    the wall clock, but while the engine replays history (the demo's Online Retail year) the
    newest event it has applied (`newest_event_at`) is "now", and an order stamped with today's
    date would jump its SKU's demand days forward by years. Never before the proposal itself.
    The event id comes from the stored row, so a retried approval is the same event to the fold
    (a duplicate id is a no-op) whatever time it carries.
    """
    decided_at: datetime = row["decided_at"]
    placed_at = decided_at if newest_event_at is None else min(decided_at, newest_event_at)
    placed_at = max(placed_at, row["proposed_at"])
    lead_days = math.ceil(float(row["reasoning"].get("lead_time_days", 0.0)))
    po_id = row["purchase_order_id"]
    return PurchaseOrderPlaced(
        event_id=f"approval:{po_id}",
        occurred_at=placed_at,
        source=SOURCE,
        purchase_order_id=po_id,
        supplier=row["supplier"],
        site=row["site"],
        expected_date=(placed_at + timedelta(days=lead_days)).date(),
        lines=(PurchaseOrderLine(sku=row["sku"], quantity=int(row["quantity"])),),
    )


async def _engine_now(deps: ApiDeps) -> datetime | None:
    """The newest event time the live view has seen; None when it cannot say (an approval does
    not wait for the view: the wall clock is used then)."""
    try:
        meta = await run_in_threadpool(deps.view.meta)
    except Exception:  # any failure of the view only loses the hint
        log.warning("live view unavailable: the purchase order is stamped with the wall clock")
        return None
    return meta.last_event_at


def _conflict(proposal_id: str, status: str, wanted: str) -> JSONResponse:
    return JSONResponse(
        {"detail": f"proposal {proposal_id} is already {status}; it cannot be {wanted}"},
        status_code=409,
    )


async def _found(deps: ApiDeps, proposal_id: str) -> dict[str, Any]:
    row = await run_in_threadpool(deps.ledger.proposal, proposal_id)
    if row is None:
        not_found(f"no reorder proposal {proposal_id}")
    return row


async def _decide(deps: ApiDeps, proposal_id: str, decision: Decision) -> dict[str, Any]:
    row = await run_in_threadpool(deps.ledger.decide_proposal, proposal_id, decision)
    if row is None:
        not_found(f"no reorder proposal {proposal_id}")
    return row


@router.get(
    "/proposals",
    summary="Reorder proposals, oldest first, filtered and paginated",
    responses=described(*READ),
)
def read_proposals(
    deps: DepsDep,
    _: BuyerDep,
    status: Annotated[ProposalStatus | None, Query()] = None,
    sku: Annotated[str | None, Query(min_length=1, max_length=128, pattern=NO_CONTROL)] = None,
    site: Annotated[str | None, Query(min_length=1, max_length=128, pattern=NO_CONTROL)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ProposalPagePublic:
    if limit > deps.limits.max_page:
        unprocessable(("query", "limit"), f"a page holds at most {deps.limits.max_page}")
    after = None if cursor is None else decode_cursor(cursor)
    page = deps.ledger.proposal_page(status=status, sku=sku, site=site, after=after, limit=limit)
    return ProposalPagePublic(
        items=[ProposalPublic.of(row) for row in page.rows],
        next_cursor=None if page.next is None else encode_cursor(page.next),
    )


@router.get(
    "/proposals/{proposal_id}",
    summary="One reorder proposal and its reasoning",
    responses=described(*READ, 404),
)
def read_proposal(proposal_id: ProposalIdPath, deps: DepsDep, _: BuyerDep) -> ProposalPublic:
    row = deps.ledger.proposal(proposal_id)
    if row is None:
        not_found(f"no reorder proposal {proposal_id}")
    return ProposalPublic.of(row)


@router.post(
    "/proposals/{proposal_id}:approve",
    summary="Approve a proposal: it becomes a PurchaseOrderPlaced for the dataflow",
    response_model=ProposalPublic,
    responses={
        200: {
            "description": "Approved, its purchase order published.",
            "headers": {
                "Idempotent-Replayed": {
                    "schema": {"type": "string"},
                    "description": "`true` when it was already approved.",
                }
            },
        },
        **described(*AUTH, 400, 404, 409, 413, 503),
    },
)
async def approve(
    proposal_id: ProposalIdPath,
    response: Response,
    deps: DepsDep,
    principal: BuyerDep,
    body: ProposalDecisionCreate | None = None,
) -> ProposalPublic | JSONResponse:
    row = await _found(deps, proposal_id)
    if row["status"] == "rejected":
        return _conflict(proposal_id, "rejected", "approved")
    if row["status"] == "approved":
        response.headers["Idempotent-Replayed"] = "true"
    else:
        decision = Decision(
            "approved",
            deps.clock(),
            principal.name,
            None if body is None else body.note,
            purchase_order_id(proposal_id),
        )
        row = await _decide(deps, proposal_id, decision)
        if row["status"] != "approved":  # rejected meanwhile, by another request
            return _conflict(proposal_id, row["status"], "approved")
    order = purchase_order_event(row, await _engine_now(deps))
    await run_in_threadpool(deps.publisher.publish, [order])
    return ProposalPublic.of(row)


@router.post(
    "/proposals/{proposal_id}:reject",
    summary="Reject a proposal; it is not raised again until the position changes",
    response_model=ProposalPublic,
    responses={200: {"description": "Rejected."}, **described(*AUTH, 400, 404, 409, 413, 503)},
)
async def reject(
    proposal_id: ProposalIdPath,
    deps: DepsDep,
    principal: BuyerDep,
    body: ProposalDecisionCreate | None = None,
) -> ProposalPublic | JSONResponse:
    row = await _found(deps, proposal_id)
    if row["status"] == "proposed":
        note = None if body is None else body.note
        row = await _decide(
            deps, proposal_id, Decision("rejected", deps.clock(), principal.name, note)
        )
    if row["status"] == "approved":
        return _conflict(proposal_id, "approved", "rejected")
    return ProposalPublic.of(row)
