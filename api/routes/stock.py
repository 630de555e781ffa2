"""Stock positions of a SKU by location, lot and bucket: live, or at a past time.

Live positions come from the live view. With `as_of`, they are rebuilt from the ledger (the sum
of every movement that had occurred by then, late arrivals included), which is history: only
analysts (and admins) may ask for it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime

from api.auth import Role
from api.deps import AtpReaderDep, DepsDep
from api.errors import READ, described, not_found
from api.live import live_stock, view_status
from api.schemas import PositionPublic, Sku, StockPublic

router = APIRouter(prefix="/v1", tags=["stock"])


@router.get(
    "/stock/{sku}",
    summary="Positions of one SKU by location, lot and bucket (live, or as of a past time)",
    responses=described(*READ, 404),
)
def read_stock(
    sku: Sku,
    deps: DepsDep,
    principal: AtpReaderDep,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="A past time (with its zone): stock rebuilt from the ledger."),
    ] = None,
) -> StockPublic:
    if sku not in deps.catalog.skus:
        not_found(f"SKU {sku!r} is not in the catalog")
    if as_of is None:
        meta = deps.view.meta()
        return live_stock(sku, deps.view.read(sku), view_status(meta, deps.clock()))
    if not principal.may([Role.ANALYST]):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"role {principal.role.value!r} may not read stock as of a past time (history); "
            "it needs one of: analyst, admin",
        )
    found = deps.ledger.stock_as_of(sku, as_of)
    positions = [
        PositionPublic(
            location=location,
            site=location.split("/", 1)[0],
            lot=lot,
            available=q.available,
            allocated=q.allocated,
            on_hold=q.on_hold,
            damaged=q.damaged,
            quarantined=q.quarantined,
            on_hand=q.on_hand,
        )
        for (location, lot), q in sorted(found.items())
    ]
    return StockPublic(
        sku=sku,
        source="ledger",
        as_of=as_of,
        updated_at=None,
        positions=positions,
        on_hand=sum(p.on_hand for p in positions),
        in_transit=None,
        on_order=None,
        version=None,
        view=None,
    )
