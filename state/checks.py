"""The checks every rule makes on an event's fields before it touches stock.

Each returns the value the rule needs (base units, a lot key, a location path) or raises
`Rejection`. They are defensive about what pydantic already validates at the edge (a quantity
that is not positive), because a model can be built without validation (`model_construct`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from state.catalog import Catalog, Sku
from state.rejections import Rejection, RejectionCode
from state.stock import NO_LOT, SkuStock


def base_quantity(sku: Sku, quantity: int, unit: str | None, *, allow_zero: bool = False) -> int:
    """quantity × factor(unit) in base units; refuses a negative (or zero) quantity."""
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise Rejection(
            RejectionCode.NON_POSITIVE_QUANTITY,
            f"{sku.code}: quantity must be {'≥' if allow_zero else '>'} 0, got {quantity}",
        )
    return sku.units.to_base(quantity, unit or sku.units.base)


def lot_key(sku: Sku, lot: str | None) -> str:
    """The lot part of a position key: the lot, or "" for no lot (refused if lots are tracked)."""
    if lot is None:
        if sku.tracks_lot:
            raise Rejection(RejectionCode.LOT_REQUIRED, f"{sku.code} is lot-tracked: name the lot")
        return NO_LOT
    return lot


def location_path(catalog: Catalog, path: str) -> str:
    return catalog.location(path).path


def learn_lot(stock: SkuStock, sku: Sku, lot: str, expiry: date | None) -> SkuStock:
    """Records a lot's expiry the first time it is known (a lot first seen without one, e.g.
    found on a shelf, gets it from the next event that states it).

    Refuses a new lot without expiry for an expiry-tracked SKU, and an expiry that contradicts
    the one already known (an expiry is a property of the lot, it cannot change).
    """
    if lot == NO_LOT:
        return stock
    known = stock.lots.get(lot)
    if known is not None:
        if expiry is not None and known != expiry:
            raise Rejection(
                RejectionCode.LOT_EXPIRY_CONFLICT,
                f"{sku.code}: lot {lot} expires {known}, not {expiry}",
            )
        return stock
    if lot in stock.lots and expiry is None:
        return stock
    if expiry is None and sku.tracks_expiry:
        raise Rejection(
            RejectionCode.EXPIRY_REQUIRED, f"{sku.code}: lot {lot} is new; give its expiry date"
        )
    return replace(stock, lots={**stock.lots, lot: expiry})


def not_expired(stock: SkuStock, sku: Sku, lot: str, as_of: date) -> None:
    """Refuses to sell (pick) a lot on or after its expiry date."""
    expiry = stock.expiry(lot)
    if sku.is_expired(expiry, as_of):
        raise Rejection(
            RejectionCode.EXPIRED_LOT, f"{sku.code}: lot {lot} expired on {expiry}; not for sale"
        )
