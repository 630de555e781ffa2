"""Why skuflow refuses an event: machine-readable reason codes and the exception that carries one.

An invalid operation is never applied and never crashes the flow. Inside the core a rule
raises `Rejection(code, message)`; because every value is frozen, raising discards whatever the
handler had computed so far, so an event is applied whole or not at all. `state.apply.apply`
catches it and turns it into a `Rejected` output, the only way a rejection leaves the core.
"""

from __future__ import annotations

from enum import StrEnum


class RejectionCode(StrEnum):
    """Stable reason codes (a dead-letter consumer can switch on them)."""

    INVALID_EVENT = "invalid_event"
    UNRESOLVED_SKU = "unresolved_sku"
    UNKNOWN_SKU = "unknown_sku"
    UNKNOWN_GTIN = "unknown_gtin"
    UNKNOWN_LOCATION = "unknown_location"
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_ORDER = "unknown_order"
    UNKNOWN_TRANSFER = "unknown_transfer"
    UNKNOWN_UNIT = "unknown_unit"
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    KIT_NOT_STOCKED = "kit_not_stocked"
    LOT_REQUIRED = "lot_required"
    EXPIRY_REQUIRED = "expiry_required"
    SERIAL_REQUIRED = "serial_required"
    LOT_EXPIRY_CONFLICT = "lot_expiry_conflict"
    EXPIRED_LOT = "expired_lot"
    INSUFFICIENT_STOCK = "insufficient_stock"
    PICK_EXCEEDS_ALLOCATION = "pick_exceeds_allocation"
    PACK_EXCEEDS_PICK = "pack_exceeds_pick"
    SHIP_EXCEEDS_PICK = "ship_exceeds_pick"
    RECEIPT_EXCEEDS_TRANSFER = "receipt_exceeds_transfer"
    WRONG_SITE = "wrong_site"
    SAME_SITE_TRANSFER = "same_site_transfer"
    DUPLICATE_ORDER = "duplicate_order"
    DUPLICATE_DOCUMENT = "duplicate_document"
    BUCKET_NOT_ADJUSTABLE = "bucket_not_adjustable"
    SUPERSEDED_COUNT = "superseded_count"
    COUNT_PREDATES_JOURNAL = "count_predates_journal"
    CONFLICTS_WITH_COUNT = "conflicts_with_count"
    UNDECODABLE_BARCODE = "undecodable_barcode"


class Rejection(Exception):  # noqa: N818 - a domain outcome, not an error of the program
    """Raised by a rule that refuses the event; caught by `apply` and emitted as `Rejected`."""

    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
