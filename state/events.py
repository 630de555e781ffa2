"""The event vocabulary: versioned, JSON-serialisable facts that producers send to skuflow.

Every event is a frozen pydantic model with a `type` literal (the discriminator of the `Event`
union), a `schema_version`, an `event_id` (the idempotency key), an `occurred_at`
(timezone-aware: the core takes all time from events, never from a clock) and a `source`
(device, system or person). Producers validate against `event_json_schema()`; consumers call
`parse_event`. Validation happens at this edge: a negative or zero quantity, a naive timestamp or
an unknown field is refused here (`try_parse_event` returns that refusal as data); `apply`
re-checks what it relies on in case a model was built without validation.

Quantities are integers in `unit` (None means the SKU's base unit); the core converts them.
Lots are None for SKUs that are not lot-tracked. Versioning: a breaking change adds a model with
`schema_version: Literal[2]` beside the old one; additive changes keep version 1.

Keying: the dataflow keys by SKU with `skus_of(event, catalog)`. A multi-line document goes to
each of its SKUs' keys, where `apply` reads only that SKU's lines; an order line for a kit goes to
the kit's components; scans go to the SKU their GTIN (or EPC) names, or nowhere when it is
unknown (the dataflow sends those to the dead-letter stream).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from state.catalog import Catalog, ShortfallPolicy
from state.gs1 import decode_barcode, decode_sgtin96
from state.rejections import Rejection

# Bounds that keep every accepted event storable: quantities (and their base units) fit a
# bigint, text carries no NUL (PostgreSQL text cannot hold one), times fall in the years the
# ledger's monthly partitions cover. Without them one hostile event would stop the ledger sink.
MAX_QUANTITY = 10**12
NO_NUL = r"^[^\x00]*$"
FIRST_YEAR, LAST_YEAR = 1970, 2199


def _not_a_number(value: object) -> object:
    """pydantic reads a bare number as seconds since 1970; an event time must say what it is."""
    if isinstance(value, int | float):
        msg = "an event time is an ISO 8601 date-time with its offset, not a number"
        raise ValueError(msg)
    return value


def _in_range(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        msg = f"an event time must fall in the years {FIRST_YEAR}-{LAST_YEAR}"
        raise ValueError(msg)
    return value


EventTime = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_in_range)]
Code = Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
Quantity = Annotated[
    int, Field(gt=0, le=MAX_QUANTITY, description="a count of `unit` (the base unit if null)")
]
Count = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
Lot = Annotated[str, Field(min_length=1, max_length=20, pattern=NO_NUL, description="GS1 AI 10")]
Unit = Annotated[str, Field(min_length=1, max_length=32, pattern=NO_NUL)]
Bucket = Literal["available", "on_hold", "damaged", "quarantined"]
AdjustmentReason = Literal[
    "found", "returned", "lost", "stolen", "damaged", "expired", "scrapped", "consumed"
]
INCREASING_REASONS: frozenset[str] = frozenset({"found", "returned"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Event(_Model):
    schema_version: Literal[1] = 1
    event_id: Code
    occurred_at: EventTime
    source: Code


# ---- floor ----------------------------------------------------------------------------------


class ItemScanned(_Event):
    """A GS1 barcode scanned at a location by a device (an observation: stock does not move)."""

    type: Literal["ItemScanned"] = "ItemScanned"
    barcode: Annotated[str, Field(min_length=1, max_length=512, pattern=NO_NUL)]
    location: Code
    device: Code


class RfidObserved(_Event):
    """An EPC (hex) read by a reader in a zone "SITE/ZONE" (an observation)."""

    type: Literal["RfidObserved"] = "RfidObserved"
    epc: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]+$", max_length=128)]
    reader: Code
    zone: Code


class ReceiptLine(_Model):
    sku: Code
    quantity: Quantity
    unit: Unit | None = None
    lot: Lot | None = None
    expiry: date | None = None


class ReceiptPosted(_Event):
    """Goods received at a (receiving) location, against a purchase order and/or an ASN."""

    type: Literal["ReceiptPosted"] = "ReceiptPosted"
    location: Code
    purchase_order_id: Code | None = None
    asn_id: Code | None = None
    lines: Annotated[tuple[ReceiptLine, ...], Field(min_length=1)]


class PutAway(_Event):
    """Available units moved from one location to another within a site."""

    type: Literal["PutAway"] = "PutAway"
    sku: Code
    quantity: Quantity
    unit: Unit | None = None
    lot: Lot | None = None
    from_location: Code
    to_location: Code


class Picked(_Event):
    """Units allocated to an order taken from a bin: they leave on hand."""

    type: Literal["Picked"] = "Picked"
    order_id: Code
    sku: Code
    quantity: Quantity
    unit: Unit | None = None
    location: Code
    lot: Lot | None = None


class Packed(_Event):
    type: Literal["Packed"] = "Packed"
    order_id: Code
    sku: Code
    quantity: Quantity
    unit: Unit | None = None


class Shipped(_Event):
    type: Literal["Shipped"] = "Shipped"
    order_id: Code
    sku: Code
    quantity: Quantity
    unit: Unit | None = None
    shipment_id: Code | None = None


class TransferShipped(_Event):
    """Available units leave a site for another site: in transit until received."""

    type: Literal["TransferShipped"] = "TransferShipped"
    transfer_id: Code
    sku: Code
    quantity: Quantity
    unit: Unit | None = None
    lot: Lot | None = None
    from_location: Code
    to_site: Code


class TransferReceived(_Event):
    """In-transit units arrive; `closes_transfer` writes off what is still missing."""

    type: Literal["TransferReceived"] = "TransferReceived"
    transfer_id: Code
    sku: Code
    quantity: Count
    unit: Unit | None = None
    lot: Lot | None = None
    to_location: Code
    closes_transfer: bool = False


class StockAdjusted(_Event):
    """On hand corrected: found/returned add to `bucket`, every other reason removes from it."""

    type: Literal["StockAdjusted"] = "StockAdjusted"
    sku: Code
    quantity: Quantity
    unit: Unit | None = None
    location: Code
    lot: Lot | None = None
    reason: AdjustmentReason
    bucket: Bucket = "available"
    expiry: date | None = Field(default=None, description="of a lot found that is not yet known")


class CycleCounted(_Event):
    """An absolute count of a SKU (and lot) at a bin, true at `occurred_at`."""

    type: Literal["CycleCounted"] = "CycleCounted"
    sku: Code
    location: Code
    lot: Lot | None = None
    quantity: Count
    unit: Unit | None = None
    expiry: date | None = Field(default=None, description="of a lot counted that is not yet known")


class StatusChanged(_Event):
    """Units put on hold, in quarantine or marked damaged (from available), or released."""

    type: Literal["StatusChanged"] = "StatusChanged"
    sku: Code
    location: Code
    lot: Lot | None = None
    quantity: Quantity
    unit: Unit | None = None
    status: Literal["hold", "quarantine", "damaged", "release"]
    release_from: Literal["on_hold", "quarantined", "damaged"] = "on_hold"


# ---- commercial -----------------------------------------------------------------------------


class ShipTo(_Model):
    region: Code
    postal_code: Code


class OrderLine(_Model):
    sku: Code
    quantity: Quantity
    unit: Unit | None = None
    site: Code | None = Field(default=None, description="preferred site to allocate from")
    fallback_sites: tuple[Code, ...] = Field(
        default=(),
        max_length=64,
        description="sites to take what `site` lacks from, in this order, before any other",
    )
    lot: Lot | None = Field(default=None, description="a lot the customer asked for")
    shortfall: ShortfallPolicy | None = Field(default=None, description="else the channel's")


class OrderPlaced(_Event):
    type: Literal["OrderPlaced"] = "OrderPlaced"
    order_id: Code
    channel: Code
    customer_tier: Code = "standard"
    customer_id: Code | None = None  # who ordered (None: a guest); demand learns their timing
    priority: Annotated[int, Field(ge=0, le=1_000_000, description="lower is more urgent")] = 0
    ship_to: ShipTo
    lines: Annotated[tuple[OrderLine, ...], Field(min_length=1)]


class OrderCancelled(_Event):
    """Cancels what is not yet picked; `skus` lists the order's SKUs (used for keying)."""

    type: Literal["OrderCancelled"] = "OrderCancelled"
    order_id: Code
    skus: Annotated[tuple[Code, ...], Field(min_length=1)]
    reason: Code | None = None


class ReservationExpired(_Event):
    type: Literal["ReservationExpired"] = "ReservationExpired"
    order_id: Code
    sku: Code


class PurchaseOrderLine(_Model):
    sku: Code
    quantity: Quantity
    unit: Unit | None = None


class PurchaseOrderPlaced(_Event):
    type: Literal["PurchaseOrderPlaced"] = "PurchaseOrderPlaced"
    purchase_order_id: Code
    supplier: Code
    site: Code
    expected_date: date
    lines: Annotated[tuple[PurchaseOrderLine, ...], Field(min_length=1)]


class AsnLine(_Model):
    sku: Code
    quantity: Quantity
    unit: Unit | None = None
    lot: Lot | None = None
    expiry: date | None = None


class AsnReceived(_Event):
    """An advance ship notice: the supplier says these units are on their way."""

    type: Literal["AsnReceived"] = "AsnReceived"
    asn_id: Code
    purchase_order_id: Code | None = None
    supplier: Code
    site: Code
    expected_date: date
    lines: Annotated[tuple[AsnLine, ...], Field(min_length=1)]


Event = Annotated[
    ItemScanned
    | RfidObserved
    | ReceiptPosted
    | PutAway
    | Picked
    | Packed
    | Shipped
    | TransferShipped
    | TransferReceived
    | StockAdjusted
    | CycleCounted
    | StatusChanged
    | OrderPlaced
    | OrderCancelled
    | ReservationExpired
    | PurchaseOrderPlaced
    | AsnReceived,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: Mapping[str, Any] | bytes | str) -> Event:
    """Validate a producer's event (a dict, or JSON text); raises pydantic's ValidationError."""
    if isinstance(data, bytes | str):
        return EVENT_ADAPTER.validate_json(data)
    return EVENT_ADAPTER.validate_python(data)


def try_parse_event(data: Mapping[str, Any] | bytes | str) -> Event | str:
    """Like `parse_event`, but bad input comes back as data: the reason, as a string."""
    try:
        return parse_event(data)
    except ValidationError as exc:
        return str(exc)


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the `Event` union, to publish for producers."""
    schema = EVENT_ADAPTER.json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Event", **schema}


def _expand_kits(codes: tuple[str, ...], catalog: Catalog) -> tuple[str, ...]:
    """Each kit replaced by its components, order kept, duplicates dropped."""
    expanded: dict[str, None] = {}
    for code in codes:
        sku = catalog.skus.get(code)
        components = [c.sku for c in sku.components] if sku is not None and sku.is_kit else [code]
        expanded.update(dict.fromkeys(components))
    return tuple(expanded)


def _sighted_sku(event: ItemScanned | RfidObserved, catalog: Catalog) -> tuple[str, ...]:
    try:
        if isinstance(event, ItemScanned):
            gtin = decode_barcode(event.barcode, reference_year=event.occurred_at.year).gtin
        else:
            gtin = decode_sgtin96(event.epc)[0]
        return (catalog.sku_for_gtin(gtin)[0].code,)
    except Rejection:
        return ()


def narrowed(event: Event, sku: str, catalog: Catalog) -> Event:
    """The part of a multi-SKU document that concerns `sku` (same id, time and source).

    `apply` reads only a SKU's own lines anyway; handing each key just its lines keeps a 600-line
    order from costing 600 × 600 line visits across its keys. Lines for a kit stay with each of
    the kit's components.
    """
    match event:
        case OrderPlaced():
            lines = tuple(line for line in event.lines if sku in _expand_kits((line.sku,), catalog))
            return event.model_copy(update={"lines": lines}) if lines != event.lines else event
        case ReceiptPosted() | PurchaseOrderPlaced() | AsnReceived():
            mine = tuple(line for line in event.lines if line.sku == sku)
            return event.model_copy(update={"lines": mine}) if mine != event.lines else event
        case OrderCancelled() if len(event.skus) > 1:
            return event.model_copy(update={"skus": (sku,)})
        case _:
            return event


def parts_by_sku(
    event: Event, catalog: Catalog, skus: tuple[str, ...] | None = None
) -> list[tuple[str, Event]]:
    """Each SKU the event concerns with its part of the event (`narrowed`), in `skus_of` order.

    One pass over a document's lines however many SKUs it names: a 600-line order is split in
    600 line visits, not 600 × 600.
    """
    skus = skus_of(event, catalog) if skus is None else skus
    if len(skus) <= 1:
        return [(sku, event) for sku in skus]
    match event:
        case OrderPlaced():
            order_lines: dict[str, list[OrderLine]] = {sku: [] for sku in skus}
            stocked = catalog.skus
            for line in event.lines:
                known = stocked.get(line.sku)
                if known is None or not known.is_kit:  # `_expand_kits` of a plain SKU: itself
                    order_lines[line.sku].append(line)
                    continue
                for sku in _expand_kits((line.sku,), catalog):
                    order_lines[sku].append(line)
            return [
                (sku, event.model_copy(update={"lines": tuple(order_lines[sku])})) for sku in skus
            ]
        case ReceiptPosted() | PurchaseOrderPlaced() | AsnReceived():
            grouped: dict[str, list[Any]] = {sku: [] for sku in skus}
            for item in event.lines:
                grouped[item.sku].append(item)
            return [(sku, event.model_copy(update={"lines": tuple(grouped[sku])})) for sku in skus]
        case _:
            return [(sku, narrowed(event, sku, catalog)) for sku in skus]


def concerns(event: Event, sku: str, catalog: Catalog) -> bool:
    """Whether `sku` is one of `skus_of(event, catalog)`, without building that tuple.

    `apply` asks it of every event it folds; nearly all name one SKU, or are one SKU's part of a
    document (`parts_by_sku`), so the answer is a comparison or two. A kit ordered or cancelled
    stands for its components, never for itself, exactly as in `skus_of`."""
    if type(event) in _ONE_SKU:  # most events: no walk down the cases below
        return event.sku == sku  # type: ignore[union-attr]
    match event:
        case ItemScanned() | RfidObserved():
            return sku in _sighted_sku(event, catalog)
        case OrderPlaced():
            return any(_names(line.sku, sku, catalog) for line in event.lines)
        case OrderCancelled():
            return any(_names(code, sku, catalog) for code in event.skus)
        case ReceiptPosted() | PurchaseOrderPlaced() | AsnReceived():
            return any(line.sku == sku for line in event.lines)
        case _:
            return event.sku == sku


# The events naming one SKU in their `sku` field (the last case of `concerns`): every event type
# but the sightings and the documents.
_ONE_SKU = frozenset(
    {
        PutAway, Picked, Packed, Shipped, TransferShipped, TransferReceived, StockAdjusted,
        CycleCounted, StatusChanged, ReservationExpired,
    }
)  # fmt: skip


def _names(code: str, sku: str, catalog: Catalog) -> bool:
    """Whether an ordered `code` stands for `sku`: it is `sku`, or a kit holding it."""
    item = catalog.skus.get(code)
    if item is not None and item.is_kit:
        return any(component.sku == sku for component in item.components)
    return code == sku


def skus_of(event: Event, catalog: Catalog) -> tuple[str, ...]:
    """The SKU keys an event concerns, in a stable order; () when none can be told."""
    match event:
        case ItemScanned() | RfidObserved():
            return _sighted_sku(event, catalog)
        case OrderPlaced():
            codes = _expand_kits(tuple(line.sku for line in event.lines), catalog)
        case OrderCancelled():
            codes = _expand_kits(event.skus, catalog)
        case ReceiptPosted() | PurchaseOrderPlaced() | AsnReceived():
            codes = tuple(line.sku for line in event.lines)
        case _:
            codes = (event.sku,)
    return tuple(dict.fromkeys(codes))
