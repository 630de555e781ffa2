"""A broker that is away is waited for, never mistaken for bad input (`connectors.kafka.source`)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from connectors.kafka.source import error_raw, is_transient


@pytest.mark.parametrize(
    "code",
    [KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError.LEADER_NOT_AVAILABLE],
)
def test_a_broker_going_away_is_a_transient_client_error(code: int) -> None:
    assert is_transient(KafkaError(code))


def test_a_missing_topic_is_not_transient_and_becomes_a_dead_letter_payload() -> None:
    error = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)

    assert not is_transient(error)
    raw = error_raw(error, "orders/0/7", (1, 1_700_000_000_000))
    assert raw.payload.startswith(b"kafka consumer error")
    assert raw.origin == "orders/0/7"
