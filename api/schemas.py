"""What the API accepts (`*Create`) and answers (`*Public`), with the examples OpenAPI shows.

Quantities are base units of the SKU (integers); times are ISO 8601 with a time zone. Event
bodies of `POST /v1/events` are the event vocabulary itself (`state.events`), validated one item
at a time so that a batch reports each item's errors (see `api.routes.events`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.routing_schemas import RoutingDecisionPublic
from state.events import Code, OrderLine, ShipTo

NO_CONTROL = r"^[^\x00-\x1f\x7f]+$"  # no NUL (PostgreSQL refuses it) nor control characters
Sku = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=NO_CONTROL, examples=["RETRO-CLOCK"]),
]
OrderId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._~@-]*$",
        description="Letters, digits and . _ ~ @ - (no ':' so that `{id}:cancel` reads plainly).",
        examples=["WEB-100042"],
    ),
]
OrderStatus = Literal[
    "allocated",
    "partially_allocated",
    "backordered",
    "rejected",
    "cancelled",
    "expired",
]


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class _Create(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---- the live view ------------------------------------------------------------------------


class ViewStatus(_Public):
    """How fresh the live view is. Event time and wall time are reported apart on purpose."""

    written_at: datetime | None = Field(
        description="Wall clock of the dataflow's last write to the view (null: never written)."
    )
    newest_event_at: datetime | None = Field(
        description="Event time of the newest event the view reflects."
    )
    seconds_since_write: float | None = Field(
        description="now − written_at (wall clock): how long the dataflow has been quiet."
    )
    lag_seconds: float | None = Field(
        description=(
            "now − newest_event_at: how far behind the present the view's knowledge is. Large "
            "during a replay of old events, which is the truth about what the view shows."
        )
    )
    stale: bool = Field(description="True when the view has never been written.")


VERSION = (
    "How many events the SKU has taken in when these figures were made (a kit: the sum of its"
    " components'). It only grows: of two answers for one SKU (say, from two API replicas), the"
    " higher version is the newer. 0: never written."
)


class AtpPublic(_Public):
    """Available to promise of one SKU (a kit's from its components), in base units."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "sku": "RETRO-CLOCK",
                    "kit": False,
                    "as_of": "2026-11-02",
                    "updated_at": "2026-11-02T09:15:00Z",
                    "network": 42,
                    "sites": {"LON": 30, "MAN": 12, "RTM": 0},
                    "channels": {"marketplace": 40, "web": 42},
                    "in_transit": 6,
                    "on_order": 120,
                    "version": 318,
                    "view": {
                        "written_at": "2026-11-02T09:15:00.120Z",
                        "newest_event_at": "2026-11-02T09:15:00Z",
                        "seconds_since_write": 0.8,
                        "lag_seconds": 0.92,
                        "stale": False,
                    },
                }
            ]
        },
    )

    sku: str
    kit: bool = Field(description="A kit holds no stock: its ATP is ⌊component ATP / per kit⌋.")
    as_of: date | None = Field(description="The date the ATP is computed for (event time).")
    updated_at: datetime | None = Field(description="Event time of the SKU's last event.")
    network: int
    sites: dict[str, int]
    channels: dict[str, int]
    in_transit: int
    on_order: int
    version: int = Field(description=VERSION)
    view: ViewStatus


class AtpBatchCreate(_Create):
    skus: Annotated[list[Sku], Field(min_length=1)] = Field(
        description="SKUs to read; at most the server's batch limit (1000 by default).",
        examples=[["RETRO-CLOCK", "TEAL-KETTLE"]],
    )


class AtpBatchPublic(_Public):
    items: list[AtpPublic]
    unknown: list[str] = Field(description="Requested SKUs that the catalog does not know.")


class PositionPublic(_Public):
    location: str = Field(examples=["LON/A/01/01/1/PICK"])
    site: str
    lot: str = Field(description='"" when the SKU is not lot-tracked.')
    available: int
    allocated: int
    on_hold: int
    damaged: int
    quarantined: int
    on_hand: int


class AtpChangePublic(_Public):
    """The `data` of one `event: atp` in `GET /v1/atp/stream` (a JSON object)."""

    sku: str
    network: int
    sites: dict[str, int]
    channels: dict[str, int]
    updated_at: datetime
    version: int = Field(description=VERSION)


class StockPublic(_Public):
    """A SKU's positions: live (from the view) or at a past time (rebuilt from the ledger)."""

    sku: str
    source: Literal["live_view", "ledger"]
    as_of: datetime | None = Field(description="The past time asked for (ledger) or null (live).")
    updated_at: datetime | None = Field(description="Event time of the SKU's last event (live).")
    positions: list[PositionPublic]
    on_hand: int
    in_transit: int | None = Field(description="Live only: supply shipped between sites.")
    on_order: int | None = Field(description="Live only: supply on purchase orders and ASNs.")
    version: int | None = Field(description="Live only: " + VERSION)
    view: ViewStatus | None = Field(description="Live only: the view's freshness.")


# ---- orders -------------------------------------------------------------------------------


class OrderCreate(_Create):
    """An order as a channel places it; the API adds the event's id, time and source."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_id": "WEB-100042",
                    "channel": "web",
                    "customer_tier": "standard",
                    "priority": 0,
                    "ship_to": {"region": "United Kingdom", "postal_code": "EC1A 1BB"},
                    "lines": [{"sku": "RETRO-CLOCK", "quantity": 2}],
                }
            ]
        },
    )

    order_id: OrderId
    channel: Code
    customer_tier: Code = "standard"
    priority: Annotated[int, Field(ge=0, le=1_000_000, description="lower is more urgent")] = 0
    ship_to: ShipTo
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=1000)]


class OrderCancelCreate(_Create):
    reason: Code | None = Field(default=None, examples=["customer changed their mind"])


class ReservationPublic(_Public):
    location: str
    lot: str
    quantity: int


class LineDecisionPublic(_Public):
    """One order line's outcome for one SKU: allocated + backordered + rejected = ordered."""

    sku: str = Field(description="The SKU reserved (a component when the line ordered a kit).")
    ordered_sku: str
    ordered: int
    allocated: int
    backordered: int
    rejected: int
    reservations: list[ReservationPublic]


class RejectionPublic(_Public):
    sku: str
    code: str = Field(examples=["duplicate_order"])
    message: str


class ReleasePublic(_Public):
    sku: str
    quantity: int
    backorder_dropped: int
    reason: Literal["cancelled", "expired"]
    event_id: str


class OrderPublic(_Public):
    """The dataflow's decision on an order, read from the ledger."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "order_id": "WEB-100042",
                    "status": "allocated",
                    "event_id": "order:WEB-100042",
                    "decided_at": "2026-11-02T09:15:00Z",
                    "allocated": 2,
                    "backordered": 0,
                    "rejected": 0,
                    "lines": [
                        {
                            "sku": "RETRO-CLOCK",
                            "ordered_sku": "RETRO-CLOCK",
                            "ordered": 2,
                            "allocated": 2,
                            "backordered": 0,
                            "rejected": 0,
                            "reservations": [
                                {"location": "LON/A/01/01/1/PICK", "lot": "", "quantity": 2}
                            ],
                        }
                    ],
                    "rejections": [],
                    "released": [],
                }
            ]
        },
    )

    order_id: str
    status: OrderStatus
    event_id: str = Field(description="The OrderPlaced event the decision was made on.")
    decided_at: datetime = Field(description="Event time of that OrderPlaced.")
    allocated: int
    backordered: int
    rejected: int
    lines: list[LineDecisionPublic]
    rejections: list[RejectionPublic] = Field(description="SKUs the dataflow refused whole.")
    released: list[ReleasePublic] = Field(description="Cancellations and expiries since.")
    routing: RoutingDecisionPublic | None = Field(
        default=None, description="Which sites fulfil the order and why (null: not routed yet)."
    )


class OrderPendingPublic(_Public):
    """The order is in the dataflow's input but its decision is not in the ledger yet."""

    order_id: str
    event_id: str
    status: Literal["pending"] = "pending"
    location: str = Field(description="Where to poll for the decision.")


# ---- events -------------------------------------------------------------------------------


class EventItemPublic(_Public):
    index: int = Field(description="Position in the request (0 for a single event).")
    event_id: str | None
    status: Literal["accepted", "rejected"]
    errors: list[str] = Field(description="Why the item was refused (empty when accepted).")


class EventsAcceptedPublic(_Public):
    """Accepted items are in the dataflow's input; refused ones were not sent anywhere."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "accepted": 1,
                    "rejected": 1,
                    "items": [
                        {"index": 0, "event_id": "scan-1", "status": "accepted", "errors": []},
                        {
                            "index": 1,
                            "event_id": "adj-7",
                            "status": "rejected",
                            "errors": ["quantity: Input should be greater than 0"],
                        },
                    ],
                }
            ]
        },
    )

    accepted: int
    rejected: int
    items: list[EventItemPublic]


# ---- the ledger ---------------------------------------------------------------------------

LedgerKind = Literal[
    "Movement",
    "Rejected",
    "Duplicate",
    "LineAllocated",
    "Released",
    "ReservationShorted",
    "OrderProgressed",
    "CountRecorded",
    "VarianceRevised",
    "Sighted",
    "StockChanged",
]


class LedgerRowPublic(_Public):
    event_id: str
    sku: str
    seq: int
    kind: str
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    source: str
    location: str | None
    lot: str | None
    order_id: str | None
    reference: str | None
    reason_code: str | None
    message: str | None
    deltas: dict[str, int] | None = Field(description="Movements only: signed bucket changes.")
    resulting: dict[str, int] | None = Field(description="Movements only: buckets afterwards.")
    detail: dict[str, Any] = Field(description="The whole output of the core, as JSON.")


class LedgerPagePublic(_Public):
    items: list[LedgerRowPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: end.")


# ---- operations ---------------------------------------------------------------------------


class HealthPublic(_Public):
    status: Literal["ok"] = "ok"


class CheckPublic(_Public):
    ok: bool
    detail: str


class ReadyPublic(_Public):
    status: Literal["ready", "not_ready"]
    mode: Literal["development", "production"]
    checks: dict[str, CheckPublic]
    view: ViewStatus | None
