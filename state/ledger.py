"""Ledger entries: each output of `apply`, stamped with the event it came from.

The durable ledger stores one row per entry, unique on (event_id, sku, seq): `seq` is the
output's position in `apply`'s result, which is deterministic for a given state and event, so a
redelivered or replayed event maps onto the rows already written and an idempotent insert
(ON CONFLICT DO NOTHING) neither loses nor duplicates a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from state.events import Event
from state.outputs import Output


class LedgerEntry(NamedTuple):
    """One output with its event's stamp. A named tuple rather than a frozen dataclass: every
    output of every event becomes one, and a tuple is built in a third of the time a frozen
    dataclass's `__init__` takes (it sets each field through `object.__setattr__`); it is as
    immutable, and it is never pickled into a snapshot, so no stored form depends on it."""

    event_id: str
    sku: str
    seq: int
    event_type: str
    occurred_at: datetime
    source: str
    output: Output

    @property
    def kind(self) -> str:
        """The output's class name: Movement, Rejected, LineAllocated, ..."""
        return type(self.output).__name__


def entries_of(event: Event, sku: str, outputs: Iterable[Output]) -> tuple[LedgerEntry, ...]:
    """The event's outputs stamped, `seq` their position; the stamp is read from the event once
    for all of them."""
    event_id, event_type, occurred_at, source = (
        event.event_id,
        event.type,
        event.occurred_at,
        event.source,
    )
    # Built with `tuple.__new__`, which is what the named tuple's own `__new__` calls: one call
    # less per entry, and an event makes four or five entries.
    return tuple(
        [
            _new(LedgerEntry, (event_id, sku, seq, event_type, occurred_at, source, output))
            for seq, output in enumerate(outputs)
        ]
    )


_new = tuple.__new__
