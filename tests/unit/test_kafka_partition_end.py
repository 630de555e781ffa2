"""A replay's partition knows its end from the broker's last reported end, not only from
librdkafka's end-of-partition event (which a broker restart can lose)."""

from __future__ import annotations

import pytest

from connectors.kafka.source import at_reported_end

UNKNOWN = -1001  # librdkafka's "no fetch response yet"


@pytest.mark.parametrize(
    ("next_offset", "low", "high", "at_end"),
    [
        (3, 0, 3, True),  # every record up to the reported end is read
        (2, 0, 3, False),  # one record still to come
        (3, UNKNOWN, UNKNOWN, False),  # no fetch answered yet: the end is not known
        (-2, 0, 0, True),  # an empty partition, nothing read: its first record would be the end
        (-2, 0, 5, False),  # nothing read yet from a partition holding records
        (-2, UNKNOWN, 0, False),  # where it starts is not known yet
        (7, 4, 7, True),  # records before 4 gone to retention: still at the end
    ],
)
def test_a_partition_is_at_its_end_when_its_next_offset_reaches_the_reported_end(
    next_offset: int, low: int, high: int, at_end: bool
) -> None:
    assert at_reported_end(next_offset, low, high) is at_end
