"""A position's movement journal, packed: (occurred_at, Δon_hand) of each movement since the count.

A late cycle count needs the on-hand changes that happened after its own time (see
`state.counting`), so every position keeps up to `JOURNAL_LIMIT` of them, oldest first. The
dataflow holds one journal per bin and SKU, so its size is most of the state's: kept as Python
tuples of (datetime, int) an entry cost ~140 bytes; packed here it costs 16:

    entry = occurred_at as microseconds since 1970-01-01 UTC (int64) + Δon_hand (int64)

Microseconds are a datetime's own resolution, so a time round-trips exactly (as UTC: the
instant, which is all the journal compares). Entries are sorted by (time, Δ), as `bisect.insort`
on the tuples kept them. A Δ outside int64 (±9.2 × 10^18 base units, more stock than exists)
cannot be journalled: `fits` says so and the caller refuses the movement.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from struct import Struct

ENTRY = Struct("<qq")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
LARGEST = 2**63 - 1


def micros(at: datetime) -> int:
    """Microseconds from the epoch to `at` (aware), exactly."""
    return (at - EPOCH) // MICROSECOND


def moment(us: int) -> datetime:
    return EPOCH + us * MICROSECOND


def fits(on_hand_delta: int) -> bool:
    return -LARGEST - 1 <= on_hand_delta <= LARGEST


def raw_entries(journal: bytes) -> Iterator[tuple[int, int]]:
    """(microseconds, Δon_hand) per entry, oldest first."""
    return ENTRY.iter_unpack(journal)


def entries(journal: bytes) -> tuple[tuple[datetime, int], ...]:
    """(occurred_at in UTC, Δon_hand) per entry, oldest first: the journal as a reader sees it."""
    return tuple((moment(us), delta) for us, delta in raw_entries(journal))


def packed(pairs: tuple[tuple[datetime, int], ...]) -> bytes:
    """The journal of these (occurred_at, Δon_hand) pairs, sorted as they are."""
    return b"".join(ENTRY.pack(micros(at), delta) for at, delta in pairs)


def length(journal: bytes) -> int:
    """The number of entries."""
    return len(journal) // ENTRY.size


def appended(journal: bytes, occurred_at: datetime, on_hand_delta: int) -> bytes:
    """The journal with the entry in its place (after any equal one, as `insort` puts it)."""
    entry = (micros(occurred_at), on_hand_delta)
    if not journal or ENTRY.unpack_from(journal, len(journal) - ENTRY.size) <= entry:
        return journal + ENTRY.pack(*entry)  # in time order: the common case
    ordered = list(raw_entries(journal))
    insort(ordered, entry)
    return b"".join(ENTRY.pack(*pair) for pair in ordered)


def oldest(journal: bytes) -> datetime:
    """The time of the first entry (the journal is not empty)."""
    us, _ = ENTRY.unpack_from(journal)
    return moment(us)


def without_oldest(journal: bytes) -> bytes:
    return journal[ENTRY.size :]


def moved_since(journal: bytes, at: datetime) -> int:
    """Σ Δon_hand of the entries with occurred_at ≥ at."""
    since_us = micros(at)
    return sum(delta for us, delta in raw_entries(journal) if us >= since_us)


def since(journal: bytes, at: datetime) -> bytes:
    """The entries with occurred_at ≥ at (a suffix: entries are sorted by time)."""
    since_us = micros(at)
    for n, (us, _) in enumerate(raw_entries(journal)):
        if us >= since_us:
            return journal[n * ENTRY.size :]
    return b""
