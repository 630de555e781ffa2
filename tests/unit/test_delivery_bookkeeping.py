"""The Kafka sinks' bookkeeping of what the broker has acknowledged, on a producer stand-in whose
delivery reports arrive when and in the order the test says (as they do across partitions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bytewax.connectors.kafka import KafkaSinkMessage

from connectors.kafka.delivery import DeliveredPartition

Report = Callable[[Any, Any], None]


class ScriptedProducer:
    """Keeps every produced message's delivery report until the test delivers it."""

    def __init__(self) -> None:
        self.produced: list[dict[str, Any]] = []
        self._reports: dict[bytes, Report] = {}

    def produce(self, topic: str, **fields: Any) -> None:
        self.produced.append({"topic": topic, **fields})
        self._reports[fields["value"]] = fields["on_delivery"]

    def deliver(self, *values: bytes, error: Any = None) -> None:
        for value in values:
            self._reports.pop(value)(error, None)

    def poll(self, _timeout: float = 0) -> int:
        return 0

    def flush(self, _timeout: float = 0) -> int:
        self.deliver(*list(self._reports))
        return 0


def message(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> KafkaSinkMessage:
    return KafkaSinkMessage(b"RETRO-CLOCK", value, headers=headers or [])


def partition() -> tuple[DeliveredPartition, ScriptedProducer]:
    producer = ScriptedProducer()
    return DeliveredPartition(producer, "bench.sequenced"), producer  # type: ignore[arg-type]


def test_a_batch_acknowledged_before_an_earlier_one_no_longer_counts_as_waiting() -> None:
    sink, producer = partition()
    sink.produce([message(b"a1"), message(b"a2")])
    sink.produce([message(b"b1")])
    sink.produce([message(b"c1")])

    producer.deliver(b"a1", b"b1")

    assert sink._unacknowledged() == 2
    assert [m.value for m in sink.unacknowledged()] == [b"a1", b"a2", b"c1"]
    producer.deliver(b"a2")
    assert sink._unacknowledged() == 1
    assert [m.value for m in sink.unacknowledged()] == [b"c1"]


def test_waiting_for_batches_returns_once_few_enough_are_unacknowledged() -> None:
    sink, producer = partition()
    for n in range(3):
        sink.produce([message(b"m%d" % n)])

    producer.deliver(b"m1")
    sink.await_batches(2)

    assert sink._unacknowledged() == 2


def test_confirming_waits_for_every_message_and_leaves_nothing_to_carry() -> None:
    sink, _ = partition()
    sink.produce([message(b"x"), message(b"y")])

    sink.confirm_delivered()

    assert sink._unacknowledged() == 0
    assert sink.unacknowledged() == []


def test_headers_are_sent_when_a_message_has_them_and_left_out_when_it_has_none() -> None:
    sink, producer = partition()

    sink.produce([message(b"plain"), message(b"tagged", [("trace", b"42")])])

    assert "headers" not in producer.produced[0]
    assert producer.produced[1]["headers"] == [("trace", b"42")]
    assert [p["topic"] for p in producer.produced] == ["bench.sequenced"] * 2


def test_batches_kafka_has_acknowledged_are_let_go_at_the_next_produce_not_the_epochs_end() -> None:
    sink, producer = partition()
    for n in range(100):
        sink.produce([message(b"m%d" % n)])
        producer.deliver(b"m%d" % n)

    assert len(sink._batches) <= 1  # a long epoch no longer holds every message it produced
    assert sink.unacknowledged() == []
