"""A broker that is away is waited for, never mistaken for bad input (`connectors.kafka.source`)."""

from __future__ import annotations

import pytest
from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from confluent_kafka import KafkaError as ClientError

from connectors.kafka.source import is_transient, to_raw


def consumer_error(code: int) -> KafkaError[bytes | None, bytes | None]:
    return KafkaError(ClientError(code), KafkaSourceMessage(None, None, topic="orders"))


@pytest.mark.parametrize(
    "code",
    [ClientError._TRANSPORT, ClientError._ALL_BROKERS_DOWN, ClientError.LEADER_NOT_AVAILABLE],
)
def test_a_broker_going_away_is_a_transient_client_error(code: int) -> None:
    assert is_transient(consumer_error(code))


def test_a_missing_topic_is_not_transient_and_becomes_a_dead_letter_payload() -> None:
    error = consumer_error(ClientError.UNKNOWN_TOPIC_OR_PART)

    assert not is_transient(error)
    assert to_raw(error).payload.startswith(b"kafka consumer error")


def test_a_message_is_never_transient() -> None:
    assert not is_transient(KafkaSourceMessage(b"85123A", b"{}", topic="orders", offset=7))
