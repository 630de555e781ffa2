"""Kafka as the flow's source: Bytewax's `KafkaSource`, each message handed on as a `RawEvent`.

Offsets live in Bytewax's recovery state (no consumer group), so a resumed run re-reads exactly
from its last snapshot. `received_at` is the message's Kafka timestamp, not the wall clock, so a
replay of the same topic produces the same dead letters.

A broker that is away is not bad input: the client's transient errors (`_TRANSPORT`,
`_ALL_BROKERS_DOWN`, timeouts, a partition without a leader for a moment) are logged and skipped,
never dead-lettered, while librdkafka reconnects and the partition goes on from its offset.
Other consumer errors become dead letters with their reason.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bytewax.connectors.kafka import KafkaError, KafkaSource, KafkaSourceMessage
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import KafkaError as ClientError

from connectors.kafka.delivery import log_kafka_error
from state.intake import RawEvent

log = logging.getLogger(__name__)

# Client-side states that pass: the broker is unreachable, restarting or electing a leader.
TRANSIENT_CODES = frozenset(
    {
        ClientError._TRANSPORT,
        ClientError._ALL_BROKERS_DOWN,
        ClientError._TIMED_OUT,
        ClientError._RESOLVE,
        ClientError.LEADER_NOT_AVAILABLE,
        ClientError.NOT_LEADER_FOR_PARTITION,
        ClientError.REQUEST_TIMED_OUT,
        ClientError.NETWORK_EXCEPTION,
        ClientError.BROKER_NOT_AVAILABLE,
    }
)

Message = KafkaSourceMessage[bytes | None, bytes | None] | KafkaError[bytes | None, bytes | None]


def to_raw(message: Message) -> RawEvent:
    if isinstance(message, KafkaError):
        # A consumer error: the flow dead-letters it (the payload does not decode as an event).
        msg = message.msg
        payload = f"kafka consumer error: {message.err}".encode()
        origin = f"{msg.topic}/{msg.partition}/{msg.offset}"
        return RawEvent(payload, origin, kafka_time(msg.timestamp))
    origin = f"{message.topic}/{message.partition}/{message.offset}"
    key = message.key.decode(errors="replace") if message.key else None
    return RawEvent(message.value or b"", origin, kafka_time(message.timestamp), key)


def is_transient(message: Message) -> bool:
    """A client error that librdkafka recovers from by itself (see the module docstring)."""
    return isinstance(message, KafkaError) and (
        message.err.code() in TRANSIENT_CODES or bool(message.err.retriable())
    )


def kafka_time(timestamp: tuple[int, int] | None) -> datetime:
    """A message's (type, epoch ms) timestamp as an aware datetime (the epoch when it has none)."""
    if timestamp is not None and timestamp[1] > 0:
        return datetime.fromtimestamp(timestamp[1] / 1000, UTC)
    return datetime.fromtimestamp(0, UTC)


class _RawPartition(StatefulSourcePartition[RawEvent, int | None]):
    def __init__(self, inner: StatefulSourcePartition[Message, int | None]) -> None:
        self._inner = inner

    def next_batch(self) -> list[RawEvent]:
        batch = []
        for message in self._inner.next_batch():
            if is_transient(message):
                log.warning("Kafka consumer: %s; librdkafka reconnects.", message.err)  # type: ignore[union-attr]
                continue
            batch.append(to_raw(message))
        return batch

    def snapshot(self) -> int | None:
        return self._inner.snapshot()

    def close(self) -> None:
        self._inner.close()


class KafkaEventSource(FixedPartitionedSource[RawEvent, int | None]):
    """Every partition of `topics`, from the beginning (or from the recovery snapshot).

    `tail=False` ends the flow when every partition is read to its end (replays and tests).
    """

    def __init__(
        self, brokers: list[str], topics: list[str], *, tail: bool = True, batch_size: int = 1000
    ) -> None:
        self._kafka = KafkaSource(
            brokers,
            topics,
            tail=tail,
            batch_size=batch_size,
            raise_on_errors=False,
            add_config={"error_cb": log_kafka_error},  # type: ignore[dict-item]
        )

    def list_parts(self) -> list[str]:
        return self._kafka.list_parts()

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _RawPartition:
        return _RawPartition(self._kafka.build_part(step_id, for_part, resume_state))
