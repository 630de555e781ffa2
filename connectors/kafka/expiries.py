"""Reservation expiries back into the flow's input: `ReservationExpired` events to `orders`.

The reservation timer (`dataflows.reservations`) emits them; this sink produces each to its
stream topic with the registry's key and codec, exactly as a producer would, so it is sequenced
and folded like any other event. Ids are deterministic, so a re-emitted expiry is a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.outputs import DynamicSink, StatelessSinkPartition

from connectors.kafka.delivery import DeliveredKafkaSink
from connectors.kafka.topics import encode, key_of
from state.events import ReservationExpired


class _ExpiriesPartition(StatelessSinkPartition[ReservationExpired]):
    def __init__(self, inner: StatelessSinkPartition[Any]) -> None:
        self._inner = inner

    def write_batch(self, items: Sequence[ReservationExpired]) -> None:
        self._inner.write_batch([KafkaSinkMessage(key_of(e), encode(e)) for e in items])

    def close(self) -> None:
        self._inner.close()


class ExpiriesSink(DynamicSink[ReservationExpired]):
    def __init__(self, brokers: list[str], topic: str) -> None:
        self._kafka = DeliveredKafkaSink(brokers, topic, add_config={"enable.idempotence": "true"})

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ExpiriesPartition:
        return _ExpiriesPartition(self._kafka.build(step_id, worker_index, worker_count))
