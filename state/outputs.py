"""What `apply` emits: the ledger of applied changes and the decisions taken, as frozen values.

- `Movement`: one change of buckets at one place, with signed deltas and the resulting
  quantities there. Places are positions (bin + lot) for on-hand buckets, and sites for
  `in_transit` (the destination site, per lot) and `on_order` (the receiving site, lot "").
  Invariant checked by the property tests: for every place, the sum of all movement deltas ever
  emitted equals the state's quantities there.
- `Rejected`: the event was refused, with a `RejectionCode` and a human message; nothing changed
  except that its id is remembered (so a redelivery is a `Duplicate`, not a second verdict).
- `Duplicate`: the event id was already applied; nothing changed.
- `LineAllocated`: the outcome of one order line for this SKU, always whole:
  allocated + backordered + rejected = ordered (base units).
- `Released`: reserved units returned to available (cancellation, reservation expiry).
- `ReservationShorted`: a count found fewer units than were reserved; the order is backordered.
- `OrderProgressed`: picked / packed / shipped totals of an order for this SKU.
- `CountRecorded` / `VarianceRevised`: a cycle count's book quantity and variance, and later
  corrections of that variance by movements older than the count that arrived after it.
- `Sighted`: a scan or RFID read (an observation; it moves no stock).
- `RepeatedRead`: the same tag read again in the same zone within `REPEAT_READ_SECONDS`.
- `StockChanged`: a snapshot of the SKU's totals and network ATP after any applied movement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from state.buckets import Quantities
from state.rejections import RejectionCode
from state.stock import Reserved
from state.values import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class Movement:
    event_id: str
    sku: str
    kind: str  # the event type that caused it
    location: str  # a bin path, or a site for in_transit / on_order
    lot: str
    deltas: Quantities
    resulting: Quantities
    order_id: str | None = None
    reference: str | None = None  # transfer, purchase order or ASN id


@quick_init
@dataclass(frozen=True, slots=True)
class Rejected:
    event_id: str
    sku: str
    code: RejectionCode
    message: str


@quick_init
@dataclass(frozen=True, slots=True)
class Duplicate:
    event_id: str
    sku: str


@quick_init
@dataclass(frozen=True, slots=True)
class LineAllocated:
    """`ordered_sku` is this SKU, or the kit the line ordered (quantities are this SKU's)."""

    event_id: str
    sku: str
    order_id: str
    ordered_sku: str
    ordered: int
    allocated: int
    backordered: int
    rejected: int
    reservations: tuple[Reserved, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class Released:
    event_id: str
    sku: str
    order_id: str
    quantity: int
    backorder_dropped: int
    reason: Literal["cancelled", "expired"]


@dataclass(frozen=True, slots=True)
class ReservationShorted:
    """A count found fewer units than were reserved at a bin: `quantity` moved to backorder."""

    event_id: str
    sku: str
    order_id: str
    location: str
    lot: str
    quantity: int


@quick_init
@dataclass(frozen=True, slots=True)
class OrderProgressed:
    event_id: str
    sku: str
    order_id: str
    picked: int
    packed: int
    shipped: int


@dataclass(frozen=True, slots=True)
class CountRecorded:
    event_id: str
    sku: str
    location: str
    lot: str
    counted_at: datetime
    counted: int
    book: int
    variance: int


@dataclass(frozen=True, slots=True)
class VarianceRevised:
    """A movement older than the count arrived late: it explains `by` units of the variance."""

    event_id: str
    sku: str
    location: str
    lot: str
    count_event_id: str
    variance: int
    by: int


@dataclass(frozen=True, slots=True)
class Sighted:
    event_id: str
    sku: str
    location: str  # a bin for scans, a zone "SITE/ZONE" for RFID reads
    quantity: int
    device: str
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None


@dataclass(frozen=True, slots=True)
class RepeatedRead:
    """An RFID read of a tag already sighted in the same zone moments ago: recorded, not news."""

    event_id: str
    sku: str
    epc: str
    zone: str
    first_read_at: datetime


@quick_init
@dataclass(frozen=True, slots=True)
class StockChanged:
    event_id: str
    sku: str
    as_of: date
    totals: Quantities
    network_atp: int


Output = (
    Movement
    | Rejected
    | Duplicate
    | LineAllocated
    | Released
    | ReservationShorted
    | OrderProgressed
    | CountRecorded
    | VarianceRevised
    | Sighted
    | RepeatedRead
    | StockChanged
)
