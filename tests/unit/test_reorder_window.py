"""The sequencer's reorder window: held until the stream is W past an event, then in order."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from connectors.kafka.merged_source import MergedKafkaSource, Record, ReorderWindow
from state.intake import RawEvent

SCANS = ("t.scans", 0)
MOVES = ("t.movements", 0)


def record(ts: int, part: tuple[str, int] = SCANS, offset: int = 0) -> Record:
    raw = RawEvent(f"{ts}".encode(), f"{part[0]}/{part[1]}/{offset}", datetime.now(UTC))
    return (ts, part, offset, raw)


def times(records: list[Record]) -> list[int]:
    return [r[0] for r in records]


def test_an_event_is_held_until_the_watermark_is_a_window_past_it() -> None:
    window = ReorderWindow(1000)
    window.hold(record(5000))
    window.hold(record(5900, offset=1))
    assert window.release() == []
    window.hold(record(6000, offset=2))  # watermark 6000: 5000 + 1000 is not yet passed
    assert window.release() == []
    window.hold(record(6001, offset=3))
    assert times(window.release()) == [5000]
    assert len(window) == 3


def test_a_record_stamped_ahead_of_the_clock_does_not_release_what_is_held() -> None:
    window = ReorderWindow(1000)
    window.hold(record(5000), now_ms=5500)
    window.hold(record(3_600_000, MOVES), now_ms=5500)  # an hour ahead of the clock
    assert window.release() == []
    window.hold(record(6100, offset=1), now_ms=6100)  # the clock and the stream pass 5000 + W
    assert times(window.release()) == [5000]
    assert times(window.release_all()) == [6100, 3_600_000]


def test_a_late_event_within_the_window_is_released_before_the_later_ones() -> None:
    window = ReorderWindow(1000)
    for offset, ts in enumerate((2000, 2600, 2300, 2100, 4000)):
        window.hold(record(ts, offset=offset))
    assert times(window.release()) == [2000, 2100, 2300, 2600]
    assert times(window.release_all()) == [4000]


def test_equal_times_keep_their_order_of_arrival_per_partition_and_the_merge_order_across() -> None:
    window = ReorderWindow(10)
    window.hold(record(100, SCANS, 7))
    window.hold(record(100, MOVES, 3))
    window.hold(record(100, SCANS, 8))
    released = window.release_all()
    assert [(r[1], r[2]) for r in released] == [(MOVES, 3), (SCANS, 7), (SCANS, 8)]


def test_any_shuffle_within_the_window_comes_out_sorted() -> None:
    rng = random.Random(10)
    times_in = sorted(rng.randrange(0, 100_000) for _ in range(2000))
    arrival = sorted(times_in, key=lambda t: t + rng.uniform(0, 500))
    window = ReorderWindow(500)
    out: list[Record] = []
    for offset, ts in enumerate(arrival):
        window.hold(record(ts, offset=offset))
        out += window.release()
    out += window.release_all()
    assert times(out) == times_in


def test_a_resumed_run_starts_at_the_first_record_still_held_in_each_partition() -> None:
    window = ReorderWindow(1000)
    window.hold(record(5000, SCANS, 11))
    window.hold(record(4800, SCANS, 12))
    window.hold(record(5100, MOVES, 4))
    assert window.first_held() == {SCANS: 11, MOVES: 4}


def test_a_negative_window_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="reorder window"):
        MergedKafkaSource(["127.0.0.1:9092"], ["t.scans"], reorder_window_seconds=-1)
