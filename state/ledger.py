"""Ledger entries: each output of `apply`, stamped with the event it came from.

The durable ledger stores one row per entry, unique on (event_id, sku, seq): `seq` is the
output's position in `apply`'s result, which is deterministic for a given state and event, so a
redelivered or replayed event maps onto the rows already written and an idempotent insert
(ON CONFLICT DO NOTHING) neither loses nor duplicates a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from state.events import Event
from state.outputs import Output


@dataclass(frozen=True, slots=True)
class LedgerEntry:
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
    return tuple(
        LedgerEntry(
            event_id=event.event_id,
            sku=sku,
            seq=seq,
            event_type=event.type,
            occurred_at=event.occurred_at,
            source=event.source,
            output=output,
        )
        for seq, output in enumerate(outputs)
    )
