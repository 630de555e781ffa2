"""What the sequencer just decoded, handed to the fold of the same process.

The sequencer decodes every stream event (to validate and route it) and writes its SKUs' parts
and its routing plan into the sequenced log; moments later the fold of the same process reads
those messages back from Kafka and would decode each again (pydantic, 3-7 µs a message, about a
seventh of the worker's time in `bench freshness`). So the sequencer leaves each message's
decoded value here, keyed by the message's bytes, and the fold takes it out instead of decoding.

Bytes decode to an equal value wherever they are decoded, so nothing the fold computes changes:
a run resumed from the log, `skuflow verify` and another process's fold decode the same bytes
and get the same events. A message this process's fold does not read (its log partition is
another process's, or a restart came between) is never taken; at most `LIMIT` values are held
(the oldest let go first), about 2.5 KB each with their bytes (a one-line receipt): 20 MB at
most.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from typing import Generic, TypeVar

V = TypeVar("V")

# Messages between the sequencer and the fold: at 5,000 events/s a round holds under a thousand;
# a fold far behind (a backlog being caught up) decodes what has been let go.
LIMIT = 8192


class Handover(Generic[V]):
    """Values keyed by the log message they were encoded as; safe across a process's workers
    (single dict operations, atomic under the GIL)."""

    def __init__(self, limit: int = LIMIT) -> None:
        # Ordered: letting go of the oldest is O(1) (a plain dict's first live entry sits behind
        # the holes its taken entries left, so finding it can walk thousands of slots).
        self._held: OrderedDict[bytes, V] = OrderedDict()
        self._limit = limit

    def leave(self, message: bytes, value: V) -> None:
        held = self._held
        held[message] = value
        if len(held) > self._limit:
            # Another worker may take or let go of the oldest at the same moment.
            with suppress(KeyError):
                held.popitem(last=False)

    def take(self, message: bytes) -> V | None:
        """The value left for these bytes (once), or None: then decode them."""
        return self._held.pop(message, None)

    def __len__(self) -> int:
        return len(self._held)
