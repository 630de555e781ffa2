"""Create skuflow's topics when they are missing (with their partition count), and list them."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

log = logging.getLogger(__name__)

# Kept until an operator says otherwise (a size limit, say): stream topics carry each event's own
# time as their timestamp, so time-based retention (7 days by default) would delete a replay of
# older events minutes after it is produced, before the sequencer reads it; and the sequenced log
# is what a resumed run, a new fold and `skuflow verify` read from its first message.
TOPIC_CONFIG = {"retention.ms": "-1"}


def ensure_topics(brokers: str, names: list[str], partitions: int, timeout: float = 30.0) -> None:
    """Create each topic that does not exist yet; an existing topic is left as it is."""
    admin = AdminClient({"bootstrap.servers": brokers})
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [name for name in names if name not in existing]
    if not missing:
        return
    futures = admin.create_topics(
        [
            NewTopic(name, num_partitions=partitions, replication_factor=-1, config=TOPIC_CONFIG)
            for name in missing
        ]
    )
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
            log.info("created topic %s with %d partitions", name, partitions)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):  # another process won the race
                raise


def partition_counts(
    brokers: str, names: list[str], timeout: float = 10.0, *, quiet: bool = False
) -> dict[str, int]:
    """Each of `names` that exists, with its partitions. `quiet`: librdkafka's own log off, so a
    broker that does not answer is the caller's one message, not librdkafka's every 50 ms."""
    config: dict[str, object] = {"bootstrap.servers": brokers}
    if quiet:
        config |= {"log_level": 0, "error_cb": _ignore}
    admin = AdminClient(config)  # type: ignore[arg-type]  # error_cb: a callable, not in the stubs
    topics = admin.list_topics(timeout=timeout).topics
    return {name: len(topics[name].partitions) for name in names if name in topics}


def _ignore(_error: KafkaError) -> None:
    return None
