"""The one registry of Kafka topics: each stream's name, what goes on it, its key and its codec.

Inputs are partitioned by SKU (orders and multi-line documents by their first SKU), so a topic's
events for one SKU stay in order on one partition; the flow re-keys every event by SKU anyway.
Every value is the event's JSON (the schema `state.events.event_json_schema()` publishes); keys
are UTF-8 strings. Names carry a prefix (`skuflow` by default) so several installations, or
tests, can share a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from state.events import Event

# stream -> the event types it carries
STREAMS: dict[str, tuple[str, ...]] = {
    "scans": ("ItemScanned",),
    "rfid": ("RfidObserved",),
    "receipts": ("ReceiptPosted", "AsnReceived", "PurchaseOrderPlaced"),
    "orders": ("OrderPlaced", "OrderCancelled", "ReservationExpired"),
    "movements": (
        "PutAway",
        "Picked",
        "Packed",
        "Shipped",
        "TransferShipped",
        "TransferReceived",
        "StockAdjusted",
        "CycleCounted",
        "StatusChanged",
    ),
    # Writes that arrive through the API, whatever their type (the API is one producer).
    "commands": (),
}
# The sequenced log: every valid input event, split per SKU and keyed by it. Once an event is
# in this log its place in its SKU's sequence is fixed, so folding the log (first run, resumed
# run or `skuflow verify`'s recomputation) always gives the same state.
SEQUENCED = "sequenced"
# Output streams
STOCK_CHANGES = "stock-changes"
DEAD_LETTERS = "dead-letters"
# One explained routing decision per order (`state.routing_outcome.OrderRouted`), keyed by order
# id, its value the decision as JSON (connectors/kafka/decisions.py).
DECISIONS = "decisions"
# Reorder proposals (`state.demand.proposals.ReorderProposed`), keyed by SKU, each the whole
# proposal with its reasoning as JSON (connectors/kafka/proposals.py).
PROPOSALS = "proposals"
OUTPUTS = (SEQUENCED, STOCK_CHANGES, DEAD_LETTERS, DECISIONS, PROPOSALS)

_STREAM_OF_TYPE = {t: stream for stream, types in STREAMS.items() for t in types}


@dataclass(frozen=True)
class Topics:
    """Topic names under one prefix."""

    prefix: str = "skuflow"

    def name(self, stream: str) -> str:
        if stream not in STREAMS and stream not in OUTPUTS:
            msg = f"unknown stream {stream!r}; streams are {sorted(STREAMS)}"
            raise KeyError(msg)
        return f"{self.prefix}.{stream}"

    def inputs(self) -> list[str]:
        return [self.name(stream) for stream in STREAMS]

    def for_event(self, event: Event) -> str:
        return self.name(_STREAM_OF_TYPE[event.type])


def key_of(event: Event) -> bytes:
    """The partition key: the event's SKU, or its first line's (a whole order stays together)."""
    for attribute in ("sku", "lines", "skus"):
        value = getattr(event, attribute, None)
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, tuple) and value:
            first = value[0]
            return (first if isinstance(first, str) else first.sku).encode()
    # Scans and RFID reads name a barcode or EPC, not a SKU: keep a device's reads together.
    device = getattr(event, "device", None) or getattr(event, "reader", None) or event.source
    return str(device).encode()


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()
