"""The stock-changes topic: every SKU's new position and ATP, for other systems to consume.

Each message is keyed by SKU and carries the SKU's whole view as JSON (absolute values), so a
consumer that only keeps the latest message per key (a compacted topic) has the full picture, and
a message delivered twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.outputs import DynamicSink, StatelessSinkPartition

from connectors.compact_json import compact_json_bytes
from connectors.kafka.delivery import DeliveredKafkaSink, DeliveredPartition
from state.views import SkuView


def view_json(view: SkuView) -> bytes:
    document = {
        "sku": view.sku,
        "as_of": view.as_of.isoformat(),
        "updated_at": view.updated_at.isoformat(),
        "last_event_id": view.last_event_id,
        "version": view.version,
        "positions": [
            # `Quantities.as_dict()` spelled out (it walks `dataclasses.fields` per position)
            {
                "location": p.location,
                "lot": p.lot,
                "available": q.available,
                "allocated": q.allocated,
                "on_hold": q.on_hold,
                "damaged": q.damaged,
                "quarantined": q.quarantined,
                "in_transit": q.in_transit,
                "on_order": q.on_order,
            }
            for p in view.positions
            for q in (p.quantities,)
        ],
        "in_transit": view.in_transit,
        "on_order": view.on_order,
        "atp": {
            "network": view.atp.network,
            "sites": dict(view.atp.sites),
            "channels": dict(view.atp.channels),
        },
    }
    return compact_json_bytes(document)  # `json.dumps(..., separators=(",", ":"))`, faster


def _messages(views: Sequence[SkuView]) -> list[KafkaSinkMessage[bytes, bytes]]:
    latest = {view.sku: view for view in views}  # only the newest view of a SKU matters
    return [KafkaSinkMessage(sku.encode(), view_json(view)) for sku, view in latest.items()]


class _ChangesPartition(StatelessSinkPartition[SkuView]):
    # At an epoch's end the messages Kafka has not acknowledged are carried in the snapshot, not
    # waited for (`dataflows.durable.CarriedPerEpoch`): absolute and keyed, a message sent
    # again after a restart changes nothing.
    carries = True

    def __init__(self, inner: DeliveredPartition) -> None:
        self._inner = inner

    def write_batch(self, items: Sequence[SkuView]) -> None:
        self._inner.write_batch(_messages(items))

    def send(self, items: Sequence[SkuView]) -> None:
        """Under a `DurableSink`: produce now, confirm in the epoch's snapshot (`delivery`)."""
        self._inner.produce(_messages(items))

    def confirm(self) -> None:
        self._inner.confirm_delivered()

    def carry(self) -> list[KafkaSinkMessage[bytes | None, bytes | None]]:
        return self._inner.unacknowledged()

    def resend(self, items: Sequence[KafkaSinkMessage[bytes | None, bytes | None]]) -> None:
        self._inner.produce(items)

    def close(self) -> None:
        self._inner.close()


class StockChangesSink(DynamicSink[SkuView]):
    """Writes views to the stock-changes topic; every batch is flushed and its delivery checked."""

    def __init__(self, brokers: list[str], topic: str) -> None:
        self._kafka = DeliveredKafkaSink(
            brokers, topic, add_config={"enable.idempotence": "true", "linger.ms": "5"}
        )

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ChangesPartition:
        return _ChangesPartition(self._kafka.build(step_id, worker_index, worker_count))
