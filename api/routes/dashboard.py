"""The dashboard: its page at `/` and `/dashboard/*`, and the read-only endpoints it needs.

The page and its files need no credential (they hold no data); every figure on it comes from
`/v1` routes called with the key the person enters, sent as `Authorization: Bearer`. The ATP
stream is read with `fetch()` so that it carries the same header: the key never goes into a URL
(where access logs, proxies and the browser's history would keep it).

Endpoints here: `GET /v1/dead-letters` (analysts: inputs that could not become ledger entries,
newest first, paginated), `GET /v1/dashboard/busiest` (the SKUs whose ATP changed most often
lately, with their ATP per site), `GET /v1/dashboard/health` (the view's freshness and the
ledger's size) and `GET /v1/dashboard/me` (the role of the key presented).
"""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.dashboard.assets import chart_library, page_assets
from api.dashboard.schemas import (
    BusiestPublic,
    BusySkuPublic,
    DeadLetterPagePublic,
    DeadLetterPublic,
    SessionPublic,
    StreamHealthPublic,
)
from api.dashboard.tally import ChangeTally
from api.deps import AnalystDep, AtpReaderDep, DepsDep, PrincipalDep
from api.errors import READ, described, unprocessable
from api.live import atp_many, view_status
from connectors.postgres.dead_letters import MAX_PAGE, PREVIEW_BYTES, DeadLetterRow
from state.intake import DeadLetterReason

pages = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/v1", tags=["dashboard"])

# The page loads scripts, styles and data from this origin only, and may not be framed. Plotly
# writes inline styles into the charts it draws, hence 'unsafe-inline' for styles (not scripts).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _asset(name: str) -> Response:
    found = page_assets().get(name)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the dashboard has no file {name!r}")
    return Response(found.body, media_type=found.media_type, headers=PAGE_HEADERS)


@pages.get("/")
@pages.get("/dashboard/")
def dashboard_page() -> Response:
    return _asset("index.html")


@pages.get("/dashboard")
def dashboard_redirect() -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=status.HTTP_308_PERMANENT_REDIRECT)


@pages.get("/dashboard/vendor/plotly.min.js")
def chart_script() -> FileResponse:
    path = chart_library()
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the plotly package is not installed")
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type="text/javascript; charset=utf-8", headers=headers)


@pages.get("/dashboard/{name}")
def dashboard_file(name: str) -> Response:
    return _asset(name)


# ---- dead letters ----------------------------------------------------------------------------


def encode_cursor(before: int) -> str:
    return base64.urlsafe_b64encode(f"dl:{before}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> int:
    """The id a page ends before, or a 422 saying the cursor is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "dl" or not number.isdigit() or len(number) > 19:
            raise ValueError(text)
        return int(number)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        unprocessable(("query", "cursor"), "not a cursor this API gave out", "cursor_invalid")


def _dead_letter(row: DeadLetterRow) -> DeadLetterPublic:
    return DeadLetterPublic(
        id=row.id,
        origin=row.origin,
        received_at=row.received_at,
        recorded_at=row.recorded_at,
        code=row.code,
        reason=row.reason,
        event_id=row.event_id,
        payload_size=row.payload_size,
        payload_preview=row.preview.decode("utf-8", errors="replace"),
        preview_truncated=row.stored_size > PREVIEW_BYTES or row.payload_size > PREVIEW_BYTES,
    )


@router.get(
    "/dead-letters",
    summary="Dead letters: inputs that could not become ledger entries, newest first",
    responses=described(*READ),
)
def read_dead_letters(
    deps: DepsDep,
    _: AnalystDep,
    code: Annotated[DeadLetterReason | None, Query(description="Only this verdict.")] = None,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Dead letters per page.")] = 50,
) -> DeadLetterPagePublic:
    before = None if cursor is None else decode_cursor(cursor)
    page = deps.ledger.dead_letter_page(
        code=None if code is None else code.value, before=before, limit=limit
    )
    return DeadLetterPagePublic(
        items=[_dead_letter(row) for row in page.rows],
        next_cursor=None if page.next is None else encode_cursor(page.next),
    )


# ---- live figures ----------------------------------------------------------------------------

_tally_lock = threading.Lock()


def change_tally(request: Request) -> ChangeTally:
    """The process's one tally (kept on the app, so each app counts its own view)."""
    state = request.app.state
    with _tally_lock:
        if not hasattr(state, "dashboard_tally"):
            state.dashboard_tally = ChangeTally()
        tally: ChangeTally = state.dashboard_tally
    return tally


TallyDep = Annotated[ChangeTally, Depends(change_tally)]


@router.get(
    "/dashboard/busiest",
    summary="The SKUs whose ATP changed most often lately, with their ATP per site",
    responses=described(*READ),
)
def read_busiest(
    deps: DepsDep,
    _: AtpReaderDep,
    tally: TallyDep,
    limit: Annotated[int, Query(ge=1, le=50, description="How many SKUs.")] = 10,
) -> BusiestPublic:
    ranked, counted = tally.busiest(deps.view, limit)
    known = [(deps.catalog.skus[sku], n) for sku, n in ranked if sku in deps.catalog.skus]
    status_now = view_status(deps.view.meta(), deps.clock())
    figures = atp_many([sku for sku, _n in known], deps.view, deps.catalog, status_now)
    items = [
        BusySkuPublic(
            sku=atp.sku,
            changes=n,
            network=atp.network,
            sites=atp.sites,
            updated_at=atp.updated_at,
        )
        for atp, (_sku, n) in zip(figures, known, strict=True)
    ]
    return BusiestPublic(
        counted=counted, sites=sorted(deps.catalog.sites), items=items, view=status_now
    )


@router.get(
    "/dashboard/health",
    summary="The stream's health: the live view's freshness, the ledger's size, dead letters",
    responses=described(*READ),
)
def read_stream_health(deps: DepsDep, _: PrincipalDep) -> StreamHealthPublic:
    meta = deps.view.meta()
    size = deps.ledger.size()
    return StreamHealthPublic(
        view=view_status(meta, deps.clock()),
        view_skus=meta.skus,
        view_writes=meta.writes,
        ledger_entries=size.entries,
        dead_letters=size.dead_letters_by_code,
    )


@router.get(
    "/dashboard/me",
    summary="The role of the key presented (the page shows it and hides what it may not do)",
    responses=described(401),
)
def read_session(principal: PrincipalDep) -> SessionPublic:
    return SessionPublic(role=principal.role.value, name=principal.name)
