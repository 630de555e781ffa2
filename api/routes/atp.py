"""Channels read available to promise: one SKU, many SKUs, or a stream of changes.

Figures come from the live view; `view` in each answer says how fresh it is. A SKU the catalog
does not know is 404 (in a batch: listed under `unknown`); one it knows but never stocked reads
as zeros.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import AtpReaderDep, DepsDep
from api.errors import READ, ErrorPublic, described, not_found, unprocessable
from api.live import atp_codes, atp_from, read_with_meta, view_status
from api.schemas import AtpBatchCreate, AtpBatchPublic, AtpChangePublic, AtpPublic, Sku
from api.sse import StreamRequest, atp_stream, latest_change_id

router = APIRouter(prefix="/v1", tags=["atp"])

CHANGE_ID = r"^\d{1,15}-\d{1,19}$"  # "<ms or n>-<seq>", within the range both views can take
SSE_EVENT = {
    "type": "object",
    "description": "One server-sent event, as its fields.",
    "properties": {
        "id": {"type": "string", "pattern": CHANGE_ID},
        "event": {"type": "string", "enum": ["atp", "error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {
                "anyOf": [AtpChangePublic.model_json_schema(), ErrorPublic.model_json_schema()]
            },
        },
    },
    "required": ["data"],
}


@router.get(
    "/atp/stream",
    summary="Server-sent events of ATP changes",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`text/event-stream`: per change an `id`, `event: atp` and `data` "
            "(an `AtpChangePublic` as JSON); comment lines as heartbeats; `event: error` when "
            "the view fails mid-stream (then the stream ends).",
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
        **described(*READ, 404),
    },
)
async def stream_atp(
    deps: DepsDep,
    _: AtpReaderDep,
    sku: Annotated[list[Sku] | None, Query(description="Only these SKUs (repeatable).")] = None,
    site: Annotated[
        str | None,
        Query(min_length=1, max_length=128, description="Only this site's figure, when it moves."),
    ] = None,
    after: Annotated[
        str | None,
        Query(
            pattern=CHANGE_ID,
            description="Start after this change id (`0-0`: everything retained). "
            "Default: the newest change.",
        ),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            pattern=CHANGE_ID,
            description="Sent by EventSource on reconnect; wins over `after`.",
        ),
    ] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=100_000, description="End the stream after this many.")
    ] = None,
    max_seconds: Annotated[
        float | None,
        Query(gt=0, le=86_400, description="End the stream after this long (capped by server)."),
    ] = None,
) -> StreamingResponse:
    if site is not None and site not in deps.catalog.sites:
        not_found(f"site {site!r} is not known; sites: {sorted(deps.catalog.sites)}")
    limits = deps.limits
    start = last_event_id or after or await run_in_threadpool(latest_change_id, deps.view)
    request = StreamRequest(
        after=start,
        skus=frozenset(sku or ()),
        site=site,
        limit=limit,
        max_seconds=min(max_seconds or limits.stream_max_seconds, limits.stream_max_seconds),
        heartbeat=limits.stream_heartbeat_seconds,
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        atp_stream(deps.view, request), media_type="text/event-stream", headers=headers
    )


@router.get(
    "/atp/{sku}",
    summary="ATP of one SKU: network, per site, per channel",
    response_model=AtpPublic,
    responses=described(*READ, 404),
)
async def read_atp(sku: Sku, request: Request, deps: DepsDep, _: AtpReaderDep) -> Response:
    known = deps.catalog.skus.get(sku)
    if known is None:
        not_found(f"SKU {sku!r} is not in the catalog")
    reader = request.app.state.view_reader
    found, meta = await read_with_meta(reader, deps.view, atp_codes([known]))
    atp = atp_from(known, found, deps.catalog, view_status(meta, deps.clock()))
    # Serialised once, by pydantic-core, as `api.atp_fast_path` does for the plain reads it
    # answers before this route (returning the model would have FastAPI validate it again and
    # dump it with the json module); `response_model` keeps the documented schema.
    return Response(atp.model_dump_json(), media_type="application/json")


@router.post(
    "/atp:batch",
    summary="ATP of many SKUs at once",
    responses=described(*READ, 400, 413),
)
async def read_atp_batch(
    body: AtpBatchCreate, request: Request, deps: DepsDep, _: AtpReaderDep
) -> AtpBatchPublic:
    limit = deps.limits.max_batch
    if len(body.skus) > limit:
        unprocessable(
            ("body", "skus"),
            f"a batch holds at most {limit} SKUs; this one has {len(body.skus)}",
            "too_long",
        )
    wanted = list(dict.fromkeys(body.skus))
    known = [deps.catalog.skus[code] for code in wanted if code in deps.catalog.skus]
    unknown = [code for code in wanted if code not in deps.catalog.skus]
    reader = request.app.state.view_reader
    found, meta = await read_with_meta(reader, deps.view, atp_codes(known))
    status = view_status(meta, deps.clock())
    items = [atp_from(sku, found, deps.catalog, status) for sku in known]
    return AtpBatchPublic(items=items, unknown=unknown)
